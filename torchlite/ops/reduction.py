"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, logsumexp, norm, cumsum
(var and std are in moments.py).

Gradients of reductions broadcast the incoming gradient back over the reduced axes; `_expand`
puts the reduced axes back (as size 1) when keepdim was False.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .. import backend, return_types
from ..amp import state as _amp
from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from .dims import missing_dim, numpy_kwargs, reduced_dims, wrap_dim, wrap_dims
from .half_compute import FLOAT32, in_float32, is_half_numpy
from .out import with_out
from .scatter import along_axis_key

values_indices = namedtuple("values_indices", ["values", "indices"])
# PyTorch's torch.return_types: `values, indices = x.max(dim)` and `.values` / `.indices` both work
return_max, return_min = return_types.max, return_types.min


def _expand(g, shape, axes, keepdim):
    """Broadcast gradient `g` of a reduction back to the input `shape`."""
    if axes is None:
        g = g.reshape((1,) * len(shape))
    elif not keepdim:
        g = g.reshape(tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return get_xp(g).broadcast_to(g, shape)


def _n(shape, axes):
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


class Sum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, dt):
        ctx.shape, ctx.axes, ctx.keepdim, ctx.dtype = x.shape, axes, keepdim, x.dtype
        return get_xp(x).asarray(x.sum(axis=axes, keepdims=keepdim, dtype=dt))

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdim).astype(ctx.dtype, copy=False), \
            None, None, None


class Mean(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        if not x.size:  # the mean of nothing is 0/0 = NaN, as PyTorch (NumPy would warn)
            with np.errstate(invalid="ignore"):
                return get_xp(x).asarray(x.sum(axis=axes, keepdims=keepdim) / x.dtype.type(0))
        return get_xp(x).asarray(x.mean(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        n = _n(ctx.shape, ctx.axes)
        return _expand(g / g.dtype.type(n or 1), ctx.shape, ctx.axes, ctx.keepdim), None, None


class Prod(Op):
    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.axis, ctx.keepdim = axis, keepdim
        ctx.save_for_backward(x)
        return get_xp(x).asarray(x.prod(axis=axis, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        # Product of all the *other* elements, via exclusive cumulative products from both
        # ends: exact even when the input holds zeros (where out / x would divide by zero).
        (x,) = ctx.saved_tensors
        xp = get_xp(x)
        axis = ctx.axis
        flat = x.reshape(-1) if axis is None else x
        ax = 0 if axis is None else axis
        ones_shape = list(flat.shape)
        ones_shape[ax] = 1
        one = xp.ones(ones_shape, dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([one, flat], axis=ax), axis=ax)
        left = xp.take(left, xp.arange(flat.shape[ax]), axis=ax)
        rev = xp.flip(flat, axis=ax)
        right = xp.cumprod(xp.concatenate([one, rev], axis=ax), axis=ax)
        right = xp.flip(xp.take(right, xp.arange(flat.shape[ax]), axis=ax), axis=ax)
        others = (left * right).reshape(x.shape)
        axes = None if axis is None else (axis,)
        return _expand(g, x.shape, axes, ctx.keepdim) * others, None, None


class AmaxAmin(Op):
    """amax/amin: the gradient is shared evenly between tied extreme elements."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, is_max):
        xp = get_xp(x)
        out = (xp.max if is_max else xp.min)(x, axis=axes, keepdims=keepdim)
        ctx.axes, ctx.keepdim, ctx.is_max = axes, keepdim, is_max
        ctx.save_for_backward(x, out)
        return xp.asarray(out)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        hit = x == _expand(out, x.shape, ctx.axes, ctx.keepdim)
        count = hit.sum(axis=ctx.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):  # a NaN extreme: no hit, NaN
            return _expand(g, x.shape, ctx.axes, ctx.keepdim) * hit / count.astype(g.dtype), \
                None, None, None


class MaxMinDim(Op):
    """max/min along one dim: the gradient goes to the returned index."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        xp = get_xp(x)
        idx = (xp.argmax if is_max else xp.argmin)(x, axis=dim, keepdims=True)
        vals = xp.take_along_axis(x, idx, axis=dim)
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        ctx.shape, ctx.dim, ctx.keepdim, ctx.is_max = x.shape, dim, keepdim, is_max
        ctx.save_for_backward(idx)
        ctx.mark_non_differentiable(idx)
        return vals, idx.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, g, _g_idx):
        (idx,) = ctx.saved_tensors
        xp = get_xp(g)
        if not ctx.keepdim:
            g, idx = xp.expand_dims(g, ctx.dim), xp.expand_dims(idx, ctx.dim)
        out = xp.zeros(ctx.shape, dtype=g.dtype)
        out[along_axis_key(idx, ctx.dim, xp)] = g  # put_along_axis, which older CuPy lacks
        return out, None, None, None


class LogSumExp(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        xp = get_xp(x)
        m = xp.max(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # all -inf: log(0) = -inf, as PyTorch
            s = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
        ctx.axes, ctx.keepdim = axes, keepdim
        out = s if keepdim else (s.reshape(()) if axes is None else s.squeeze(axes))
        ctx.save_for_backward(x, out)  # the output itself, so a graph of backward knows it
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        s = _expand(out, x.shape, ctx.axes, ctx.keepdim)
        with np.errstate(invalid="ignore"):  # all -inf: exp(-inf - -inf) = NaN, as PyTorch
            return _expand(g, x.shape, ctx.axes, ctx.keepdim) * get_xp(x).exp(x - s), None, None


class Norm2(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        xp = get_xp(x)
        out = xp.asarray(xp.sqrt(xp.sum(x * x, axis=axes, keepdims=keepdim)))
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp = get_xp(x)
        o = _expand(out, x.shape, ctx.axes, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = xp.where(o == 0, 0, x / o)  # PyTorch: the subgradient 0 at the origin
        return _expand(g, x.shape, ctx.axes, ctx.keepdim) * r.astype(x.dtype), None, None


class Cumsum(Op):
    @staticmethod
    def forward(ctx, x, dim, dt):
        ctx.dim, ctx.dtype = dim, x.dtype
        return get_xp(x).cumsum(x, axis=dim, dtype=dt)

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        r = xp.flip(xp.cumsum(xp.flip(g, axis=ctx.dim), axis=ctx.dim), axis=ctx.dim)
        return r.astype(ctx.dtype, copy=False), None, None


# ----------------------------------------------------------------------------------------------
# public functions


def _accumulating(op, x: Tensor):
    """`op`, or for a float16/bfloat16 NumPy input its float32-accumulating variant, as
    PyTorch's CPU kernels (ml_dtypes' own bfloat16 sum accumulates in bfloat16: 10000 ones
    sum to 256)."""
    return in_float32(op) if x._data.dtype is not FLOAT32 and is_half_numpy(x._data) else op


def _sum_dtype(x, dtype):
    if dtype is not None:
        return backend.to_dtype(dtype).np
    if x._data.dtype.kind in "biu":
        return np.dtype(np.int64)  # PyTorch sums integers and bools in int64
    return x._data.dtype


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,  # noqa: A001
        out=None, **kwargs) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None for all elements). As in PyTorch, `axis=` and
    `keepdims=` are accepted for `dim=` and `keepdim=` (here and by the other reductions)."""
    if out is not None:
        return with_out(sum, "sum", out,
                        (input, dim, keepdim), {"dtype": dtype, **kwargs}, exact=None)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "sum", dim, keepdim)
    if _amp.on:
        (input,) = _amp.cast("sum", input)
    axes = reduced_dims(dim, input._data.ndim, "sum")
    if dim is not None and isinstance(dim, (tuple, list)) and len(dim) == 0:
        axes = None
    x = input
    dt = _sum_dtype(x, dtype)
    op = _accumulating(Sum, x)
    return op.apply(x, axes, keepdim, FLOAT32 if op is not Sum and dtype is None else dt)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
         out=None, **kwargs) -> Tensor:
    """Arithmetic mean; integer inputs need an explicit float `dtype`, as in PyTorch."""
    if out is not None:
        return with_out(mean, "mean", out, (input, dim, keepdim), {"dtype": dtype, **kwargs})
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "mean", dim, keepdim)
    x = input
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fcV":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {x.dtype}"
        )
    axes = reduced_dims(dim, x._data.ndim, "mean")
    return _accumulating(Mean, x).apply(x, axes, keepdim)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
         out=None, **kwargs) -> Tensor:
    if out is not None:
        return with_out(prod, "prod", out,
                        (input, dim, keepdim), {"dtype": dtype, **kwargs}, exact=None)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "prod", dim, keepdim)
    if _amp.on:
        (input,) = _amp.cast("prod", input)
    x = input if dtype is None else input.to(dtype)
    axis = None if dim is None else wrap_dim(dim, x._data.ndim, "prod")
    if x._data.ndim == 0:  # prod(0) of a 0-d tensor: its one element (backward included)
        axis = None
    if x._data.dtype.kind in "biu" and dtype is None:
        return Tensor._make(get_xp(x._data).asarray(x._data.prod(axis=axis, keepdims=keepdim,
                                                                 dtype=np.int64)), x._device)
    return _accumulating(Prod, x).apply(x, axis, keepdim)


def _check_nonempty(x: Tensor, op: str, dim=None):
    dims = dim if isinstance(dim, tuple) else (dim,)
    if x._data.size == 0 and (dim is None or any(x._data.shape[d] == 0 for d in dims)):
        raise IndexError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0, or the "
            f"reduced dimension to be non-empty (got shape {tuple(x._data.shape)})"
        )


def _max_min(input, dim, keepdim, other, is_max):
    name = "max" if is_max else "min"
    if isinstance(dim, Tensor) and other is None:
        dim, other = None, dim
    if other is not None:
        from .elementwise import maximum, minimum

        return (maximum if is_max else minimum)(input, other)
    if dim is None:
        _check_nonempty(input, name)
        return AmaxAmin.apply(input, None, False, is_max)
    d = wrap_dim(dim, input._data.ndim, name)
    _check_nonempty(input, name, d if input._data.ndim else None)
    x = input if input._data.ndim else input.reshape(1)
    vals, idx = MaxMinDim.apply(x, d, keepdim or input._data.ndim == 0, is_max)
    if input._data.ndim == 0:
        vals, idx = vals.reshape(()), idx.reshape(())
    return (return_max if is_max else return_min)(vals, idx)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None,
        out=None, **kwargs):  # noqa: A001
    """Largest element; with `dim`, a (values, indices) pair; with a tensor, elementwise maximum."""
    if out is not None:
        return with_out(max, "max", out,
                        (input, dim, keepdim), {"other": other, **kwargs}, exact=True)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "max", dim, keepdim)
    return _max_min(input, dim, keepdim, other, True)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None,
        out=None, **kwargs):  # noqa: A001
    """Smallest element; with `dim`, a (values, indices) pair; with a tensor, elementwise min."""
    if out is not None:
        return with_out(min, "min", out,
                        (input, dim, keepdim), {"other": other, **kwargs}, exact=True)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "min", dim, keepdim)
    return _max_min(input, dim, keepdim, other, False)


def amax(input: Tensor, dim=(), keepdim: bool = False, *, out=None, **kwargs) -> Tensor:
    if out is not None:
        return with_out(amax, "amax", out, (input, dim, keepdim), kwargs, exact=True)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "amax", dim, keepdim, ())
    axes = None if dim in ((), None) else reduced_dims(dim, input._data.ndim, "amax")
    _check_nonempty(input, "amax", axes)
    return AmaxAmin.apply(input, axes, keepdim, True)


def amin(input: Tensor, dim=(), keepdim: bool = False, *, out=None, **kwargs) -> Tensor:
    if out is not None:
        return with_out(amin, "amin", out, (input, dim, keepdim), kwargs, exact=True)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "amin", dim, keepdim, ())
    axes = None if dim in ((), None) else reduced_dims(dim, input._data.ndim, "amin")
    _check_nonempty(input, "amin", axes)
    return AmaxAmin.apply(input, axes, keepdim, False)


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False, out=None, **kwargs):
    if out is not None:
        return with_out(aminmax, "aminmax", out,
                        (input,), {"dim": dim, "keepdim": keepdim, **kwargs}, exact=True)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "aminmax", dim, keepdim)
    return return_types.aminmax(amin(input, dim if dim is not None else (), keepdim),
                                amax(input, dim if dim is not None else (), keepdim))


def _arg(input, dim, keepdim, is_max):
    name = "argmax" if is_max else "argmin"
    if dim is None or input._data.ndim == 0:
        _check_nonempty(input, name)
    else:
        _check_nonempty(input, name, wrap_dim(dim, input._data.ndim, name))
    xp = get_xp(input._data)
    f = xp.argmax if is_max else xp.argmin
    if dim is None:
        r = f(input._data.reshape(-1))
        if keepdim:
            r = r.reshape((1,) * input._data.ndim)
    else:
        d = wrap_dim(dim, input._data.ndim, name)
        r = f(input._data, axis=d, keepdims=keepdim) if input._data.ndim else f(input._data)
    return Tensor._make(xp.asarray(r, dtype=np.int64), input._device)


def argmax(input: Tensor, dim=None, keepdim: bool = False, *, out=None, **kwargs) -> Tensor:
    if out is not None:
        return with_out(argmax, "argmax", out, (input, dim, keepdim), kwargs, exact=True)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "argmax", dim, keepdim)
    return _arg(input, dim, keepdim, True)


def argmin(input: Tensor, dim=None, keepdim: bool = False, *, out=None, **kwargs) -> Tensor:
    if out is not None:
        return with_out(argmin, "argmin", out, (input, dim, keepdim), kwargs, exact=True)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "argmin", dim, keepdim)
    return _arg(input, dim, keepdim, False)


def logsumexp(input: Tensor, dim=None, keepdim: bool = False, *, out=None, **kwargs) -> Tensor:
    """log(sum(exp(x))) over `dim` (required, as in PyTorch), computed without overflow."""
    if out is not None:
        return with_out(logsumexp, "logsumexp", out, (input, dim, keepdim), kwargs)
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "logsumexp", dim, keepdim)
    if dim is None:
        raise missing_dim("logsumexp")
    if _amp.on:
        (input,) = _amp.cast("logsumexp", input)
    x = input if input._data.dtype.kind in "fV" else input.to(backend.get_default_dtype())
    axes = reduced_dims(dim, x._data.ndim, "logsumexp")
    return _accumulating(LogSumExp, x).apply(x, axes, keepdim)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None,
         *, out=None) -> Tensor:
    """Vector p-norm over `dim` (all elements by default); 'fro' is the 2-norm of all elements."""
    if out is not None:
        return with_out(norm, "norm", out, (input, p, dim, keepdim, dtype))
    from .elementwise import pow as _pow
    from .unary import abs as _abs

    x = input if dtype is None else input.to(dtype)
    if x._data.dtype.kind not in "fcV":
        raise RuntimeError(f"norm: expected a floating point tensor, got {x.dtype}")
    axes = reduced_dims(dim, x._data.ndim, "norm")
    if p in ("fro", 2, 2.0, None):
        return _accumulating(Norm2, x).apply(x, axes, keepdim)
    if p in (float("inf"), "inf"):
        return AmaxAmin.apply(_abs(x), axes, keepdim, True)
    if p in (float("-inf"), "-inf"):
        return AmaxAmin.apply(_abs(x), axes, keepdim, False)
    if p == 0:
        return sum((x != 0).to(x.dtype), dim=axes, keepdim=keepdim)
    if p == 1:
        return sum(_abs(x), dim=axes, keepdim=keepdim)
    if isinstance(p, str):
        raise ValueError(f"norm: unsupported norm type {p!r}")
    total = sum(_pow(_abs(x), p), dim=axes, keepdim=keepdim)
    if p < 0:
        return _pow(total, 1.0 / p)
    # s^(1/p) has an infinite slope at s = 0: PyTorch's gradient there is 0 (a subgradient),
    # so the root is taken of a stand-in 1 where s = 0 and its result masked back to 0
    from .ternary import where

    zero = total == 0
    return where(zero, 0.0, _pow(where(zero, 1.0, total), 1.0 / p))


def cumsum(input: Tensor, dim: int | None = None, *, dtype=None, out=None, **kwargs) -> Tensor:
    if out is not None:
        return with_out(cumsum, "cumsum", out, (input, dim), {"dtype": dtype, **kwargs}, exact=None)
    if kwargs:
        dim, _ = numpy_kwargs(kwargs, "cumsum", dim)
    if dim is None:
        raise missing_dim("cumsum")
    if _amp.on:
        (input,) = _amp.cast("cumsum", input)
    d = wrap_dim(dim, input._data.ndim, "cumsum")
    dt = _sum_dtype(input, dtype)
    if input._data.ndim == 0:
        return input.clone()
    op = _accumulating(Cumsum, input)
    return op.apply(input, d, FLOAT32 if op is not Cumsum and dtype is None else dt)


def cumprod(input: Tensor, dim: int | None = None, *, dtype=None, out=None, **kwargs) -> Tensor:
    """Cumulative product, as running products of slices (exact with zeros, unlike a log-sum)."""
    if out is not None:
        return with_out(cumprod, "cumprod", out,
                        (input, dim), {"dtype": dtype, **kwargs}, exact=None)
    if kwargs:
        dim, _ = numpy_kwargs(kwargs, "cumprod", dim)
    if dim is None:
        raise missing_dim("cumprod")
    if _amp.on:
        (input,) = _amp.cast("cumprod", input)
    if dtype is not None:
        input = input.to(dtype)
    d = wrap_dim(dim, input._data.ndim, "cumprod")
    if input._data.ndim == 0:
        return input.clone()
    from .shape import narrow

    n = input._data.shape[d]
    parts, acc = [], None
    for i in range(n):  # O(n) ops: cumprod is rare on hot paths; exact even with zeros
        cur = narrow(input, d, i, 1)
        acc = cur if acc is None else acc * cur
        parts.append(acc)
    from .join import cat

    return cat(parts, d) if parts else input.clone()


def count_nonzero(input: Tensor, dim=None, **kwargs) -> Tensor:
    if kwargs:
        dim, _ = numpy_kwargs(kwargs, "count_nonzero", dim)
    xp = get_xp(input._data)
    axes = wrap_dims(dim, input._data.ndim, "count_nonzero")
    return Tensor._make(xp.asarray(xp.count_nonzero(input._data, axis=axes), dtype=np.int64),
                        input._device)
