"""Tensor's in-place methods (`add_`, `fill_`, `copy_`, `uniform_`, ...).

Each one writes into the tensor's memory and bumps its version counter; with autograd recording
it goes through `autograd.views.inplace`, which gives the tensor (and the tensors it is a view
of) the op's history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

import numpy as np

from . import backend
from ._tensor_convert import to
from .autograd import grad_mode
from .autograd.record import recorders as _recorders
from .autograd.views import inplace
from .ops import bitwise, creation, diagonal, index_update, indexing, integer, shape, special, unary
from .ops import comparison as cmp
from .ops import elementwise as ew
from .ops import linalg as _linalg
from .ops import products as _products
from .ops import renorm as _renorm
from .ops import scatter_reduce as scatter_reduce_op
from .ops import ternary as tern
from .random import _rng
from .tensor import Tensor

P = ParamSpec("P")


def make_inplace(fn: Callable[Concatenate[Tensor, P], Tensor]
                 ) -> Callable[Concatenate[Tensor, P], Tensor]:
    """The in-place method `x.fn_(...)` of the out-of-place op `fn(x, ...)`."""
    ufunc = _ARRAY_INPLACE.get(fn)
    if ufunc is not None:
        def method(self: Tensor, /, *args: P.args, **kwargs: P.kwargs) -> Tensor:
            if not (kwargs or grad_mode._state.enabled) and len(args) == 1 \
                    and _array_update(self, ufunc, args[0]):
                return self
            return inplace(self, fn, *args, **kwargs)
    else:
        def method(self: Tensor, /, *args: P.args, **kwargs: P.kwargs) -> Tensor:
            return inplace(self, fn, *args, **kwargs)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of {fn.__name__}."
    return method


# `p -= lr * p.grad` under no_grad (a hand-written SGD step): the out-of-place op plus a copy
# back costs several times the arithmetic on small tensors, and for same-dtype float NumPy
# operands the ufunc writing into p's memory computes the same bits (float16 and other dtypes,
# devices and broadcasting into a larger shape keep the general path).
_ARRAY_INPLACE = {ew.add: np.add, ew.sub: np.subtract, ew.mul: np.multiply}


def _array_update(t: Tensor, ufunc: Any, other: Any) -> bool:
    """Apply `t = ufunc(t, other)` in t's memory when nothing but the arithmetic is at stake
    (called with grad mode off; no profiler, plain float32/float64 NumPy arrays); False when it
    did not."""
    if _recorders or t._view is not None:
        return False
    arr = t._data
    if type(arr) is not np.ndarray or arr.dtype.char not in "fd":
        return False
    if isinstance(other, Tensor):
        o = other._data
        if type(o) is not np.ndarray or o.dtype is not arr.dtype or other._view is not None \
                or (o.shape != arr.shape and o.ndim):
            return False
    elif type(other) is float or type(other) is int:
        o = other
    else:
        return False
    ufunc(arr, o, out=arr)
    t._vbox[0] += 1
    return True


def _fill_random(self: Tensor, values: Any) -> Tensor:
    if grad_mode._state.enabled and self._requires_grad and self.grad_fn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    self._data[...] = backend.move(np.asarray(values).astype(self._data.dtype), self._device)
    self._bump()
    return self


class InplaceMethods:
    """Methods that change the tensor's values in place and return the tensor."""

    __slots__ = ()

    add_ = make_inplace(ew.add)
    sub_ = make_inplace(ew.sub)
    mul_ = make_inplace(ew.mul)
    div_ = make_inplace(ew.div)
    pow_ = make_inplace(ew.pow)
    clamp_ = clip_ = make_inplace(tern.clamp)
    lerp_ = make_inplace(tern.lerp)
    addcmul_ = make_inplace(tern.addcmul)
    addcdiv_ = make_inplace(tern.addcdiv)
    neg_ = make_inplace(unary.neg)
    exp_ = make_inplace(unary.exp)
    log_ = make_inplace(unary.log)
    sqrt_ = make_inplace(unary.sqrt)
    abs_ = make_inplace(unary.abs)
    relu_ = make_inplace(unary.relu)
    sigmoid_ = make_inplace(unary.sigmoid)
    tanh_ = make_inplace(unary.tanh)
    floor_ = make_inplace(unary.floor)
    ceil_ = make_inplace(unary.ceil)
    round_ = make_inplace(unary.round)
    nan_to_num_ = make_inplace(unary.nan_to_num)
    bitwise_and_ = make_inplace(bitwise.bitwise_and)
    bitwise_or_ = make_inplace(bitwise.bitwise_or)
    bitwise_xor_ = make_inplace(bitwise.bitwise_xor)
    bitwise_not_ = make_inplace(bitwise.bitwise_not)
    bitwise_left_shift_ = make_inplace(bitwise.bitwise_left_shift)
    bitwise_right_shift_ = make_inplace(bitwise.bitwise_right_shift)
    asinh_ = arcsinh_ = make_inplace(unary.asinh)
    acosh_ = arccosh_ = make_inplace(unary.acosh)
    atanh_ = arctanh_ = make_inplace(unary.atanh)
    deg2rad_ = make_inplace(unary.deg2rad)
    rad2deg_ = make_inplace(unary.rad2deg)
    erfc_ = make_inplace(special.erfc)
    erfinv_ = make_inplace(special.erfinv)
    lgamma_ = make_inplace(special.lgamma)
    digamma_ = make_inplace(special.digamma)
    sinc_ = make_inplace(special.sinc)
    logit_ = make_inplace(special.logit)
    logaddexp_ = make_inplace(ew.logaddexp)
    copysign_ = make_inplace(ew.copysign)
    hypot_ = make_inplace(ew.hypot)
    xlogy_ = make_inplace(ew.xlogy)
    acos_ = arccos_ = make_inplace(unary.acos)
    asin_ = arcsin_ = make_inplace(unary.asin)
    atan_ = arctan_ = make_inplace(unary.atan)
    cos_ = make_inplace(unary.cos)
    sin_ = make_inplace(unary.sin)
    tan_ = make_inplace(unary.tan)
    cosh_ = make_inplace(unary.cosh)
    sinh_ = make_inplace(unary.sinh)
    erf_ = make_inplace(unary.erf)
    exp2_ = make_inplace(unary.exp2)
    expm1_ = make_inplace(unary.expm1)
    log2_ = make_inplace(unary.log2)
    log10_ = make_inplace(unary.log10)
    log1p_ = make_inplace(unary.log1p)
    rsqrt_ = make_inplace(unary.rsqrt)
    reciprocal_ = make_inplace(unary.reciprocal)
    square_ = make_inplace(unary.square)
    frac_ = make_inplace(unary.frac)
    trunc_ = fix_ = make_inplace(unary.trunc)
    sign_ = sgn_ = make_inplace(unary.sign)
    negative_ = make_inplace(unary.neg)
    absolute_ = make_inplace(unary.abs)
    logical_not_ = make_inplace(unary.logical_not)
    logical_and_ = make_inplace(unary.logical_and)
    logical_or_ = make_inplace(unary.logical_or)
    logical_xor_ = make_inplace(unary.logical_xor)
    atan2_ = arctan2_ = make_inplace(ew.atan2)
    fmod_ = make_inplace(ew.fmod)
    remainder_ = make_inplace(ew.remainder)
    floor_divide_ = make_inplace(ew.floor_divide)
    float_power_ = make_inplace(ew.float_power)
    true_divide_ = divide_ = make_inplace(ew.div)
    multiply_ = make_inplace(ew.mul)
    subtract_ = make_inplace(ew.sub)
    logaddexp2_ = make_inplace(ew.logaddexp2)
    nextafter_ = make_inplace(ew.nextafter)
    heaviside_ = make_inplace(ew.heaviside)
    ldexp_ = make_inplace(ew.ldexp)
    gcd_ = make_inplace(integer.gcd)
    lcm_ = make_inplace(integer.lcm)
    mvlgamma_ = make_inplace(special.mvlgamma)
    clamp_min_ = make_inplace(tern.clamp_min)
    clamp_max_ = make_inplace(tern.clamp_max)
    eq_ = make_inplace(cmp.eq)
    ne_ = not_equal_ = make_inplace(cmp.ne)
    lt_ = less_ = make_inplace(cmp.lt)
    le_ = less_equal_ = make_inplace(cmp.le)
    gt_ = greater_ = make_inplace(cmp.gt)
    ge_ = greater_equal_ = make_inplace(cmp.ge)

    def polygamma_(self: Any, n: int) -> Tensor:
        """In-place version of polygamma: self = polygamma(n, self)."""
        return inplace(self, lambda s: special.polygamma(n, s))
    masked_fill_ = make_inplace(indexing.masked_fill)
    scatter_ = make_inplace(indexing.scatter)
    scatter_add_ = make_inplace(indexing.scatter_add)
    scatter_reduce_ = make_inplace(scatter_reduce_op.scatter_reduce)
    index_fill_ = make_inplace(index_update.index_fill)
    index_copy_ = make_inplace(index_update.index_copy)
    masked_scatter_ = make_inplace(index_update.masked_scatter)
    put_ = make_inplace(index_update.put)
    index_add_ = make_inplace(indexing.index_add)
    index_put_ = indexing.index_put_
    tril_ = make_inplace(diagonal.tril)
    triu_ = make_inplace(diagonal.triu)

    def zero_(self: Any) -> Tensor:
        """Set every element to 0."""
        return InplaceMethods.fill_(self, 0)

    def fill_(self: Any, value: Any) -> Tensor:
        """Set every element to `value` (a number or a one-element tensor)."""
        if isinstance(value, Tensor):
            value = value.item()
        if grad_mode._state.enabled and self._requires_grad:
            # recorded, so that a view's base learns about it too; no gradient flows to the old
            # values
            none = creation.zeros(self._data.shape, dtype=backend.bool_, device=self._device)
            return inplace(self, lambda s: tern.where(none, s, value))
        self._data[...] = value
        self._bump()
        return self

    def copy_(self: Any, src: Any, non_blocking: bool = False) -> Tensor:
        """Copy src's values (broadcast, cast, moved across devices) into self's memory."""
        if not isinstance(src, Tensor):
            src = creation.tensor(src, device=self._device)
        if src._device is not self._device:
            src = to(src, self._device)
        return inplace(self, lambda s, other: shape.expand(to(other, s.dtype), s._data.shape),
                       src)

    def uniform_(self: Any, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with samples from U(a, b)."""
        return _fill_random(self, _rng(generator).uniform(a, b, self._data.shape))

    def normal_(self: Any, mean: float = 0.0, std: float = 1.0, *,
                generator: Any = None) -> Tensor:
        """Fill with samples from N(mean, std**2)."""
        return _fill_random(self, _rng(generator).normal(mean, std, self._data.shape))

    def bernoulli_(self: Any, p: float = 0.5, *, generator: Any = None) -> Tensor:
        """Fill with 1 (probability p) or 0."""
        return _fill_random(self, _rng(generator).random(self._data.shape) < p)

    def exponential_(self: Any, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with samples from the exponential distribution of rate `lambd`."""
        return _fill_random(self, _rng(generator).exponential(1.0 / lambd, self._data.shape))

    def random_(self: Any, low: int = 0, high: int | None = None, *,
                generator: Any = None) -> Tensor:
        """Fill with integers uniform in [low, high) ([0, low) when only one bound is given)."""
        if high is None:
            low, high = 0, low if low else 2**24
        return _fill_random(self, _rng(generator).integers(low, high, self._data.shape))

    def log_normal_(self: Any, mean: float = 1.0, std: float = 2.0, *,
                    generator: Any = None) -> Tensor:
        """Fill with exp(N(mean, std**2)) samples."""
        return _fill_random(self, _rng(generator).lognormal(mean, std, self._data.shape))

    def cauchy_(self: Any, median: float = 0.0, sigma: float = 1.0, *,
                generator: Any = None) -> Tensor:
        """Fill with samples from the Cauchy distribution."""
        return _fill_random(self, median + sigma * _rng(generator).standard_cauchy(
            self._data.shape))

    def geometric_(self: Any, p: float, *, generator: Any = None) -> Tensor:
        """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
        return _fill_random(self, _rng(generator).geometric(p, self._data.shape))

    # in-place forms of products, scans and norms (the op, then a copy back into self)
    addmm_ = make_inplace(_linalg.addmm)
    addmv_ = make_inplace(_products.addmv)
    addr_ = make_inplace(_products.addr)
    baddbmm_ = make_inplace(_products.baddbmm)
    addbmm_ = make_inplace(_products.addbmm)
    renorm_ = make_inplace(_renorm.renorm)

    def cumsum_(self: Any, dim: int, *, dtype: Any = None) -> Tensor:
        from .ops.reduction import cumsum

        return inplace(self, lambda s: cumsum(s, dim, dtype=dtype))

    def cumprod_(self: Any, dim: int, *, dtype: Any = None) -> Tensor:
        from .ops.reduction import cumprod

        return inplace(self, lambda s: cumprod(s, dim, dtype=dtype))

    def fill_diagonal_(self: Any, fill_value: float, wrap: bool = False) -> Tensor:
        """Set the main diagonal (entries with all indices equal) to fill_value; for a tall
        2-D matrix with wrap=True the diagonal restarts every N + 1 rows, as NumPy's."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        xp = backend.get_xp(self._data)
        mask = xp.zeros(self._data.shape, dtype=bool)
        if self.ndim == 2 and wrap:
            np_mask = np.zeros(self._data.shape, dtype=bool)
            np.fill_diagonal(np_mask, True, wrap=True)
            mask = backend.move(np_mask, self._device)
        else:
            n = min(self._data.shape)
            idx = xp.arange(n)
            mask[(idx,) * self.ndim] = True
        maskt = Tensor._make(mask, self._device)
        return inplace(self, lambda s: tern.where(maskt, creation.full_like(s, fill_value), s))
