"""The `xp` namespace of differentiable arrays: NumPy's functions over torchlite's ops.

`get_xp(darray)` returns the namespace for the array module (numpy or cupy) under the DArray.
A function listed here computes with differentiable ops when any argument is a DArray; any other
attribute is the array module's own (dtypes, constants, `errstate`, `arange`...), and calling it
with a DArray argument raises: a backward that needs it has no differentiable formulation yet.
Creation functions return DArrays for floating dtypes, so that a buffer a backward fills in
place (`gx = xp.zeros(...); xp.add.at(gx, idx, g)`) can take differentiable values.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .darray import DArray, IndexAdd, raw, tensor_of, wrap


def _has_darray(args, kwargs) -> bool:
    for a in args:
        if type(a) is DArray:
            return True
        if isinstance(a, (list, tuple)) and any(type(i) is DArray for i in a):
            return True
    return any(type(v) is DArray for v in kwargs.values())


def _t(x, like: Tensor | None = None) -> Tensor:
    """`x` as a Tensor (a scalar takes `like`'s dtype and device)."""
    x = tensor_of(x)
    if isinstance(x, Tensor):
        return x
    if like is None:
        return Tensor._make(np.asarray(x), backend.CPU)
    xp = backend.get_xp(like._data)
    return Tensor._make(xp.asarray(x, dtype=like._data.dtype), like._device)


def _like(*xs) -> Tensor | None:
    for x in xs:
        if type(x) is DArray:
            return x.t
    return None


def _unary(method: str):
    def fn(x, *args, **kwargs):
        return DArray(getattr(tensor_of(x), method)())
    fn.__name__ = method
    return fn


def _binary(name: str):
    def fn(a, b, out=None, **kwargs):
        r = DArray(getattr(_Ops, name)(a, b))
        return _store(out, r)
    fn.__name__ = name
    return fn


def _store(out, r):
    if out is None:
        return r
    if type(out) is DArray:
        out.t = r.t
        return out
    raise NotImplementedError("a differentiable stand-in cannot be written into a raw `out=`")


def _operator(op: str, rop: str):
    def run(a, b):
        r = getattr(a, op)(b) if type(a) is DArray else getattr(b, rop)(a)
        return r.t
    return run


def _function(name: str):
    def run(a, b):
        import torchlite

        like = _like(a, b)
        return getattr(torchlite, name)(_t(a, like), _t(b, like))
    return run


class _Ops:
    """The differentiable operations behind the namespace's binary functions."""

    subtract = staticmethod(_operator("__sub__", "__rsub__"))
    multiply = staticmethod(_operator("__mul__", "__rmul__"))
    divide = staticmethod(_operator("__truediv__", "__rtruediv__"))
    power = staticmethod(_operator("__pow__", "__rpow__"))
    matmul = staticmethod(_operator("__matmul__", "__rmatmul__"))
    logaddexp = staticmethod(_function("logaddexp"))
    logaddexp2 = staticmethod(_function("logaddexp2"))
    hypot = staticmethod(_function("hypot"))
    maximum = staticmethod(_function("maximum"))
    minimum = staticmethod(_function("minimum"))
    arctan2 = staticmethod(_function("atan2"))


class _AddUfunc:
    """`xp.add`, with `.at` (an unbuffered scatter-add) done out of place on a DArray."""

    def __init__(self, xp: Any) -> None:
        self._raw = xp.add

    def __call__(self, a, b, out=None, **kwargs):
        if type(a) is not DArray and type(b) is not DArray and type(out) is not DArray:
            return self._raw(a, b, out=out, **kwargs)
        return _store(out, wrap(a) + b if type(a) is DArray else wrap(b) + a)

    def at(self, a, idx, b) -> None:
        if type(a) is not DArray:
            if type(b) is not DArray:
                return self._raw.at(a, raw(idx), b)
            raise NotImplementedError("add.at of a differentiable value into a raw array")
        a.t = IndexAdd.apply(a.t, tensor_of(b), idx=raw(idx))
        return None

    def reduce(self, *args, **kwargs):
        if _has_darray(args, kwargs):
            raise NotImplementedError("add.reduce over a differentiable stand-in")
        return self._raw.reduce(*args, **kwargs)


class _Linalg:
    """`xp.linalg` for backward formulas: inv and solve differentiable on DArrays (through
    torchlite.linalg), anything else the array module's own, refused on a DArray."""

    def __init__(self, xp: Any) -> None:
        self._linalg = xp.linalg

    def inv(self, a):
        if type(a) is not DArray:
            return self._linalg.inv(a)
        import torchlite.linalg

        return DArray(torchlite.linalg.inv(a.t))

    def solve(self, a, b):
        if not _has_darray((a, b), {}):
            return self._linalg.solve(a, b)
        import torchlite.linalg

        return DArray(torchlite.linalg.solve(_t(a), _t(b)))

    def __getattr__(self, name: str) -> Any:
        own = getattr(self._linalg, name)

        def checked(*args, **kwargs):
            if _has_darray(args, kwargs):
                raise NotImplementedError(
                    f"double backward: linalg.{name} has no differentiable formulation here")
            return own(*args, **kwargs)

        return checked


class Namespace:
    """NumPy's (or CuPy's) functions, differentiable when given DArrays."""

    def __init__(self, xp: Any) -> None:
        self._xp = xp
        self.add = _AddUfunc(xp)
        for name in ("exp", "log", "log1p", "expm1", "log2", "log10", "exp2", "sqrt", "tanh",
                     "sinh", "cosh", "sin", "cos", "tan", "sigmoid", "reciprocal", "square",
                     "erf"):
            setattr(self, name, self._guard(name, _unary(name)))
        for np_name, method in (("arctan", "atan"), ("arcsin", "asin"), ("arccos", "acos"),
                                ("absolute", "abs"), ("abs", "abs"), ("negative", "neg")):
            setattr(self, np_name, self._guard(np_name, _unary(method)))
        for name in ("subtract", "multiply", "divide", "maximum", "minimum", "arctan2", "power",
                     "matmul", "logaddexp", "logaddexp2", "hypot"):
            setattr(self, name, self._guard(name, _binary(name)))
        self.true_divide = self.divide
        self.linalg = _Linalg(xp)

    def _guard(self, name: str, fn):
        """`fn` for DArray arguments, the array module's own function otherwise."""
        own = getattr(self._xp, name, None)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            if own is not None and not _has_darray(args, kwargs) and type(
                    kwargs.get("out")) is not DArray:
                return own(*args, **kwargs)
            return fn(*args, **kwargs)

        return run

    def __getattr__(self, name: str) -> Any:
        own = getattr(self._xp, name)
        if not callable(own) or isinstance(own, type):
            return own

        def checked(*args, **kwargs):
            if _has_darray(args, kwargs):
                raise NotImplementedError(
                    f"double backward: {name} has no differentiable formulation (it was called "
                    "on a differentiable stand-in while building a graph of the backward pass)"
                )
            return own(*args, **kwargs)

        return checked

    # -- creation: DArrays for floating buffers ------------------------------------------------
    def _buffer(self, arr):
        return wrap(arr) if arr.dtype.kind in "fc" else arr

    def zeros(self, shape, dtype=float, **kw):
        return self._buffer(self._xp.zeros(shape, dtype=dtype, **kw))

    def ones(self, shape, dtype=float, **kw):
        return self._buffer(self._xp.ones(shape, dtype=dtype, **kw))

    def empty(self, shape, dtype=float, **kw):
        return self._buffer(self._xp.zeros(shape, dtype=dtype, **kw))

    def full(self, shape, fill_value, dtype=None, **kw):
        return self._buffer(self._xp.full(shape, raw(fill_value), dtype=dtype, **kw))

    def zeros_like(self, a, dtype=None, **kw):
        return self._buffer(self._xp.zeros_like(raw(a), dtype=dtype))

    def empty_like(self, a, dtype=None, **kw):
        return self._buffer(self._xp.zeros_like(raw(a), dtype=dtype))

    def ones_like(self, a, dtype=None, **kw):
        return self._buffer(self._xp.ones_like(raw(a), dtype=dtype))

    def full_like(self, a, fill_value, dtype=None, **kw):
        return self._buffer(self._xp.full_like(raw(a), raw(fill_value), dtype=dtype))

    def asarray(self, a, dtype=None, **kw):
        if type(a) is DArray:
            return a if dtype is None else a.astype(dtype, copy=False)
        return self._xp.asarray(a, dtype=dtype, **kw)

    def ascontiguousarray(self, a, dtype=None):
        return self.asarray(a, dtype)

    def array(self, a, dtype=None, copy=True, **kw):
        if type(a) is DArray:
            return a if dtype is None else a.astype(dtype)
        return self._xp.array(a, dtype=dtype, copy=copy, **kw)

    def copyto(self, dst, src, where=True, **kw):
        if type(dst) is not DArray:
            if type(src) is DArray:
                raise NotImplementedError("copyto of a differentiable value into a raw array")
            return self._xp.copyto(dst, src, where=where, **kw)
        new = self.where(where, src, dst) if where is not True else self.broadcast_to(
            src, dst.shape)
        dst.t = tensor_of(new) if type(new) is DArray else _t(new, dst.t)
        return None

    # -- differentiable functions --------------------------------------------------------------
    def where(self, cond, a=None, b=None):
        if a is None:
            return self._xp.where(raw(cond))
        if not _has_darray((a, b), {}):
            return self._xp.where(raw(cond), a, b)
        import torchlite

        like = _like(a, b)
        c = _t(self._xp.asarray(raw(cond), dtype=bool))
        return DArray(torchlite.where(c, _t(a, like), _t(b, like)))

    def sign(self, x):
        return self._xp.sign(raw(x))  # zero derivative almost everywhere: a constant

    def signbit(self, x):
        return self._xp.signbit(raw(x))

    def sum(self, a, axis=None, dtype=None, keepdims=False, **kw):
        if type(a) is not DArray:
            return self._xp.sum(a, axis=axis, dtype=dtype, keepdims=keepdims, **kw)
        return a.sum(axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, a, axis=None, dtype=None, keepdims=False, **kw):
        if type(a) is not DArray:
            return self._xp.mean(a, axis=axis, dtype=dtype, keepdims=keepdims, **kw)
        return a.mean(axis=axis, dtype=dtype, keepdims=keepdims)

    def clip(self, a, a_min=None, a_max=None, **kw):
        if type(a) is not DArray:
            return self._xp.clip(a, raw(a_min), raw(a_max), **kw)
        return a.clip(a_min, a_max)

    def reshape(self, a, shape, **kw):
        return a.reshape(shape) if type(a) is DArray else self._xp.reshape(a, shape, **kw)

    def transpose(self, a, axes=None):
        if type(a) is not DArray:
            return self._xp.transpose(a, axes)
        return a.transpose(axes) if axes is not None else a.transpose()

    def swapaxes(self, a, i, j):
        return a.swapaxes(i, j) if type(a) is DArray else self._xp.swapaxes(a, i, j)

    def moveaxis(self, a, source, destination):
        if type(a) is not DArray:
            return self._xp.moveaxis(a, source, destination)
        import torchlite

        return DArray(torchlite.movedim(a.t, source, destination))

    def expand_dims(self, a, axis):
        if type(a) is not DArray:
            return self._xp.expand_dims(a, axis)
        shape = self._xp.expand_dims(self._xp.empty(a.shape, dtype=bool), axis).shape
        return a.reshape(shape)

    def broadcast_to(self, a, shape, **kw):
        if type(a) is not DArray:
            return self._xp.broadcast_to(a, shape, **kw)
        shape = tuple(shape)
        if a.shape == shape:
            return a
        return DArray(a.t.expand(*shape))

    def einsum(self, eq, *operands, optimize=False, **kw):
        if not _has_darray(operands, {}):
            return self._xp.einsum(eq, *operands, optimize=optimize, **kw)
        import torchlite

        return DArray(torchlite.einsum(eq, *[_t(o) for o in operands]))

    def tensordot(self, a, b, axes=2):
        if not _has_darray((a, b), {}):
            return self._xp.tensordot(a, b, axes)
        if isinstance(axes, int):
            axes = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
        ax_a = [x % a.ndim for x in np.atleast_1d(axes[0]).tolist()]
        ax_b = [x % b.ndim for x in np.atleast_1d(axes[1]).tolist()]
        free_a = [i for i in range(a.ndim) if i not in ax_a]
        free_b = [i for i in range(b.ndim) if i not in ax_b]
        k = 1
        for i in ax_a:
            k *= a.shape[i]
        a2 = wrap(a).transpose(free_a + ax_a).reshape(-1, k)
        b2 = wrap(b).transpose(ax_b + free_b).reshape(k, -1)
        out_shape = [a.shape[i] for i in free_a] + [b.shape[i] for i in free_b]
        return (a2 @ b2).reshape(out_shape)

    def outer(self, a, b):
        if not _has_darray((a, b), {}):
            return self._xp.outer(a, b)
        return wrap(a).reshape(-1, 1) * wrap(b).reshape(1, -1)

    def dot(self, a, b):
        if not _has_darray((a, b), {}):
            return self._xp.dot(a, b)
        return wrap(a) @ b

    def stack(self, arrays, axis=0, **kw):
        if not _has_darray(tuple(arrays), {}):
            return self._xp.stack(arrays, axis=axis, **kw)
        import torchlite

        like = _like(*arrays)
        return DArray(torchlite.stack([_t(a, like) for a in arrays], dim=axis))

    def concatenate(self, arrays, axis=0, **kw):
        if not _has_darray(tuple(arrays), {}):
            return self._xp.concatenate(arrays, axis=axis, **kw)
        import torchlite

        like = _like(*arrays)
        return DArray(torchlite.cat([_t(a, like) for a in arrays], dim=axis))

    def flip(self, a, axis=None):
        if type(a) is not DArray:
            return self._xp.flip(a, axis)
        axes = tuple(range(a.ndim)) if axis is None else (
            axis if isinstance(axis, tuple) else (axis,))
        return DArray(a.t.flip(axes))

    def take_along_axis(self, a, idx, axis):
        if type(a) is not DArray:
            return self._xp.take_along_axis(a, raw(idx), axis)
        grids = list(self._xp.ogrid[tuple(slice(0, s) for s in idx.shape)])
        grids[axis % a.ndim] = raw(idx)
        return a[tuple(grids)]

    def take(self, a, idx, axis=None, **kw):
        if type(a) is not DArray:
            return self._xp.take(a, raw(idx), axis=axis, **kw)
        if axis is None:
            return a.reshape(-1)[raw(idx)]
        sl = (slice(None),) * (axis % a.ndim)
        return a[sl + (raw(idx),)]

    def max(self, a, axis=None, keepdims=False, **kw):
        return a.max(axis, keepdims) if type(a) is DArray else self._xp.max(
            a, axis=axis, keepdims=keepdims, **kw)

    def min(self, a, axis=None, keepdims=False, **kw):
        return a.min(axis, keepdims) if type(a) is DArray else self._xp.min(
            a, axis=axis, keepdims=keepdims, **kw)

    amax = max
    amin = min

    def cumprod(self, a, axis=None, **kw):
        if type(a) is not DArray:
            return self._xp.cumprod(a, axis=axis, **kw)
        import torchlite

        t = a.t.reshape(-1) if axis is None else a.t
        return DArray(torchlite.cumprod(t, 0 if axis is None else axis))

    def roll(self, a, shift, axis=None):
        if type(a) is not DArray:
            return self._xp.roll(a, shift, axis=axis)
        import torchlite

        if axis is None:
            return DArray(torchlite.roll(a.t.reshape(-1), shift, 0).reshape(a.shape))
        return DArray(torchlite.roll(a.t, shift, axis))

    def cumsum(self, a, axis=None, **kw):
        return a.cumsum(axis) if type(a) is DArray else self._xp.cumsum(a, axis=axis, **kw)

    def tril(self, a, k=0):
        if type(a) is not DArray:
            return self._xp.tril(a, k)
        return DArray(a.t.tril(k))

    def triu(self, a, k=0):
        if type(a) is not DArray:
            return self._xp.triu(a, k)
        return DArray(a.t.triu(k))

    def pad(self, a, pad_width, mode="constant", constant_values=0, **kw):
        if type(a) is not DArray:
            return self._xp.pad(a, pad_width, mode=mode, constant_values=constant_values, **kw)
        if mode != "constant":
            raise NotImplementedError(f"double backward: pad(mode={mode!r}) on a stand-in")
        pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2))
        out = self.full(tuple(s + int(lo) + int(hi) for s, (lo, hi) in zip(a.shape, pw)),
                        constant_values, dtype=a.dtype)
        out[tuple(slice(int(lo), int(lo) + s) for s, (lo, _) in zip(a.shape, pw))] = a
        return out

    def split(self, a, indices, axis=0):
        if type(a) is not DArray:
            return self._xp.split(a, indices, axis=axis)
        n = a.shape[axis]
        if isinstance(indices, int):
            step = n // indices
            bounds = list(range(0, n + 1, step))
        else:
            bounds = [0, *list(indices), n]
        sl = (slice(None),) * (axis % a.ndim)
        return [a[sl + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]

    def polygamma(self, n: int, x):
        """The n-th derivative of digamma (differentiable: ops/special.py's derivatives)."""
        import torchlite

        return DArray(torchlite.polygamma(n, tensor_of(wrap(x))))

    def errstate(self, **kw):
        return np.errstate(**kw)

    # non-differentiable predicates on stand-ins read their values
    def isnan(self, x, **kw):
        return self._xp.isnan(raw(x), **kw)

    def isfinite(self, x, **kw):
        return self._xp.isfinite(raw(x), **kw)

    def isinf(self, x, **kw):
        return self._xp.isinf(raw(x), **kw)

    def may_share_memory(self, a, b, *args):
        return False if type(a) is DArray or type(b) is DArray else self._xp.may_share_memory(
            a, b, *args)


@functools.cache
def namespace_for(xp: Any) -> Namespace:
    """The differentiable namespace over array module `xp` (one per module)."""
    return Namespace(xp)
