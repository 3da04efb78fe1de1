"""Running reductions along a dim: cummax, cummin (values and indices) and logcumsumexp
(cumsum and cumprod are in reduction.py).

The scans are NumPy's ufunc.accumulate on the CPU; on a GPU, where CuPy's ufuncs may lack
accumulate, a log-step (Hillis-Steele) scan of whole-array ops.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp
from ..return_types import cummax as return_cummax
from ..return_types import cummin as return_cummin
from ..tensor import Tensor
from .dims import missing_dim, numpy_kwargs, wrap_dim
from .scatter import add_at, along_axis_key


def scan(xp, ufunc, x, axis: int):
    """The running `ufunc` of `x` along `axis` (ufunc.accumulate)."""
    if xp is np:
        return ufunc.accumulate(x, axis=axis)
    n, step = x.shape[axis], 1
    while step < n:
        head = xp.take(x, xp.arange(step), axis=axis)
        rest = ufunc(xp.take(x, xp.arange(step, n), axis=axis),
                     xp.take(x, xp.arange(n - step), axis=axis))
        x = xp.concatenate([head, rest], axis=axis)
        step *= 2
    return x


def _arange_along(xp, shape, axis):
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return xp.broadcast_to(xp.arange(shape[axis], dtype=np.int64).reshape(view), shape)


class CumMaxMin(Op):
    """Running max/min: the gradient of each output goes to the input it came from."""

    @staticmethod
    def forward(ctx, x, dim, is_max):
        xp = get_xp(x)
        vals = scan(xp, xp.maximum if is_max else xp.minimum, x, dim)
        hit = x == vals  # a new extreme, or a tie: PyTorch points at the latest one
        if x.dtype.kind in "fV":
            hit = hit | xp.isnan(x)  # a NaN propagates and each later NaN takes over
        idx = scan(xp, xp.maximum, xp.where(hit, _arange_along(xp, x.shape, dim), 0), dim)
        ctx.dim = dim
        ctx.save_for_backward(idx)
        ctx.mark_non_differentiable(idx)
        return vals, idx

    @staticmethod
    def backward(ctx, g, _g_idx):
        (idx,) = ctx.saved_tensors
        xp = get_xp(g)
        out = xp.zeros(g.shape, dtype=g.dtype)
        add_at(out, along_axis_key(idx, ctx.dim, xp), g)  # several outputs share an input
        return out, None, None


def _cum_extreme(input: Tensor, dim, is_max: bool, kwargs):
    name = "cummax" if is_max else "cummin"
    if kwargs:
        dim, _ = numpy_kwargs(kwargs, name, dim)
    if dim is None:
        raise missing_dim(name)
    d = wrap_dim(dim, input._data.ndim, name)
    x = input if input._data.ndim else input.reshape(1)
    vals, idx = CumMaxMin.apply(x, d, is_max)
    if input._data.ndim == 0:
        vals, idx = vals.reshape(()), idx.reshape(())
    return (return_cummax if is_max else return_cummin)(vals, idx)


def cummax(input: Tensor, dim: int | None = None, **kwargs):
    """(values, indices) of the running maximum along `dim`; ties and NaNs point at the latest
    position, as PyTorch."""
    return _cum_extreme(input, dim, True, kwargs)


def cummin(input: Tensor, dim: int | None = None, **kwargs):
    """(values, indices) of the running minimum along `dim` (see cummax)."""
    return _cum_extreme(input, dim, False, kwargs)


def _rev_logcumsumexp(xp, x, axis):
    return xp.flip(scan(xp, xp.logaddexp, xp.flip(x, axis=axis), axis), axis=axis)


class LogCumSumExp(Op):
    @staticmethod
    def forward(ctx, x, dim):
        xp = get_xp(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = scan(xp, xp.logaddexp, x, dim)
        ctx.dim = dim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # dx_j = sum_{i >= j} g_i exp(x_j - out_i), summed in log space for the positive and the
        # negative parts of g separately, so that nothing overflows
        x, out = ctx.saved_tensors
        xp, d = get_xp(g), ctx.dim
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # log|g| masked by sign with where (not log(max(g, 0))): differentiated again, in a
            # graph of the backward pass, the masked parts get 0, not 0 * inf
            # an absent part is a very negative finite log, not -inf, so that the sums (and
            # their derivatives) never meet -inf - -inf
            absent = -np.finfo(np.float64).max / 4 if g.dtype == np.float64 else -1e30
            log_g = xp.log(xp.where(g == 0, 1, xp.abs(g)))
            pos = _rev_logcumsumexp(xp, xp.where(g > 0, log_g, absent) - out, d)
            neg = _rev_logcumsumexp(xp, xp.where(g < 0, log_g, absent) - out, d)
            r = xp.exp(x + pos) - xp.exp(x + neg)
        return r.astype(g.dtype, copy=False), None


def logcumsumexp(input: Tensor, dim: int | None = None, **kwargs) -> Tensor:
    """log(cumsum(exp(input))) along `dim`, without overflow (floating dtypes only, as
    PyTorch)."""
    if kwargs:
        dim, _ = numpy_kwargs(kwargs, "logcumsumexp", dim)
    if dim is None:
        raise missing_dim("logcumsumexp")
    d = wrap_dim(dim, input._data.ndim, "logcumsumexp")
    if input._data.dtype.kind not in "fV":
        from .exceptions import DtypeNotImplementedError

        raise DtypeNotImplementedError(
            f"\"logcumsumexp_out_cpu\" not implemented for '{input.dtype}'")
    if input._data.ndim == 0:
        return input.clone()
    return LogCumSumExp.apply(input, d)

