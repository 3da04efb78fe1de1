"""Comparisons and predicates: == != < <= > >=, isnan/isinf/isfinite, all/any, allclose, equal.

Results are bool tensors and carry no gradient.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_xp
from ..tensor import Tensor
from .dims import numpy_kwargs, reduced_dims
from .out import with_out
from .promotion import result_dtype, scalar


def _compare(name, f):
    def fn(input: Tensor, other, *, out=None) -> Tensor:
        if out is not None:
            return with_out(fn, name, out, (input, other))
        from .elementwise import _operands

        a, b = _operands(input, other, name)
        dt = result_dtype(a, b)
        x = a._data if isinstance(a, Tensor) else scalar(a)
        y = b._data if isinstance(b, Tensor) else scalar(b)
        if hasattr(x, "astype") and not isinstance(x, np.generic):
            x = x.astype(dt, copy=False)
        if hasattr(y, "astype") and not isinstance(y, np.generic):
            y = y.astype(dt, copy=False)
        dev = a._device if isinstance(a, Tensor) else b._device
        xp = get_xp(a._data if isinstance(a, Tensor) else b._data)
        return Tensor._make(xp.asarray(f(x, y)), dev)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} (a bool tensor; broadcasting)."
    return fn


eq = _compare("eq", lambda a, b: a == b)
ne = _compare("ne", lambda a, b: a != b)
lt = _compare("lt", lambda a, b: a < b)
le = _compare("le", lambda a, b: a <= b)
gt = _compare("gt", lambda a, b: a > b)
ge = _compare("ge", lambda a, b: a >= b)
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def _pred(name, f):
    def fn(input: Tensor, *, out=None) -> Tensor:
        if out is not None:
            return with_out(fn, name, out, (input,))
        x = input._data
        return Tensor._make(f(get_xp(x), x), input._device)

    fn.__name__ = name
    return fn


isnan = _pred("isnan", lambda xp, x: xp.isnan(x) if x.dtype.kind in "fV"
              else xp.zeros(x.shape, bool))
isinf = _pred("isinf", lambda xp, x: xp.isinf(x) if x.dtype.kind in "fV"
              else xp.zeros(x.shape, bool))
isfinite = _pred("isfinite", lambda xp, x: xp.isfinite(x) if x.dtype.kind in "fV"
                 else xp.ones(x.shape, bool))
isposinf = _pred("isposinf", lambda xp, x: xp.isposinf(x))
isneginf = _pred("isneginf", lambda xp, x: xp.isneginf(x))
signbit = _pred("signbit", lambda xp, x: xp.signbit(x))


def _reduce_bool(name, f):
    def fn(input: Tensor, dim=None, keepdim: bool = False, *, out=None, **kwargs) -> Tensor:
        if out is not None:
            return with_out(fn, name, out, (input, dim, keepdim), kwargs)
        if kwargs:  # axis=, keepdims=
            dim, keepdim = numpy_kwargs(kwargs, name, dim, keepdim)
        x = input._data
        axes = reduced_dims(dim, x.ndim, name)
        xp = get_xp(x)
        return Tensor._make(xp.asarray(f(x, axis=axes, keepdims=keepdim)), input._device)

    fn.__name__ = name
    return fn


all = _reduce_bool("all", lambda x, axis, keepdims: x.all(axis=axis, keepdims=keepdims))  # noqa: A001
any = _reduce_bool("any", lambda x, axis, keepdims: x.any(axis=axis, keepdims=keepdims))  # noqa: A001


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Tensor:
    xp = get_xp(input._data)
    o = other._data if isinstance(other, Tensor) else other
    return Tensor._make(xp.isclose(input._data, o, rtol=rtol, atol=atol, equal_nan=equal_nan),
                        input._device)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    """True when |input - other| <= atol + rtol * |other| everywhere."""
    if input._data.shape != other._data.shape:
        np.broadcast_shapes(input._data.shape, other._data.shape)
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    if input._data.shape != other._data.shape:
        return False
    return bool((input._data == other._data).all())


