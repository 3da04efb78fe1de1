"""Variance and standard deviation (var, std, var_mean, std_mean), with PyTorch's correction
argument and its gradient conventions (0 where the std is 0)."""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from .dims import numpy_kwargs, reduced_dims
from .out import with_out
from .reduction import _accumulating, _expand, _n, mean


class Var(Op):
    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        xp = get_xp(x)
        ctx.axes, ctx.keepdim, ctx.correction = axes, keepdim, correction
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if _n(x.shape, axes) > correction:
                return xp.asarray(x.var(axis=axes, ddof=correction, keepdims=keepdim))
            # no degrees of freedom: sum / 0, inf or NaN as in PyTorch (NumPy would warn)
            if x.size:
                x = x - x.mean(axis=axes, keepdims=True)
            return xp.asarray((x * x).sum(axis=axes, keepdims=keepdim) / x.dtype.type(0))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        n = _n(x.shape, ctx.axes)
        scale = x.dtype.type(2.0 / (n - ctx.correction)) if n > ctx.correction else np.nan
        with np.errstate(over="ignore", invalid="ignore"):  # huge inputs: inf, as PyTorch
            mean = x.mean(axis=ctx.axes, keepdims=True) if x.size else 0.0  # (empty: no warning)
            return (_expand(g, x.shape, ctx.axes, ctx.keepdim) * (x - mean) * scale, None, None,
                    None)


class StdSqrt(Op):
    """sqrt of a variance, with PyTorch's gradient 0 (not inf * 0) where the std is 0."""

    @staticmethod
    def forward(ctx, v):
        out = get_xp(v).sqrt(v)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return get_xp(g).where(out == 0, g.dtype.type(0), g * (0.5 / out))



def _correction(unbiased, correction) -> int:
    if correction is not None:
        return int(correction)
    return 1 if unbiased in (None, True) else 0


def _var(input: Tensor, dim, unbiased, keepdim: bool, correction, name: str,
         kwargs=None) -> Tensor:
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, name, dim, keepdim)
    if isinstance(dim, bool):  # var(x, False): the old positional `unbiased`
        unbiased, dim = dim, None
    if input._data.dtype.kind not in "fcV":
        raise RuntimeError(f"{name}: only floating-point tensors are supported, got {input.dtype}")
    axes = reduced_dims(dim, input._data.ndim, name)
    c = _correction(unbiased, correction)
    if _n(input._data.shape, axes) <= c:  # PyTorch's warning; the result is inf or NaN
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    return _accumulating(Var, input).apply(input, axes, c, keepdim)


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None,
        out=None, **kwargs):
    """Variance with Bessel's correction by default (`correction=1`)."""
    if out is not None:
        return with_out(var, "var", out,
                        (input, dim, unbiased, keepdim), {"correction": correction, **kwargs})
    return _var(input, dim, unbiased, keepdim, correction, "var", kwargs)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None,
        out=None, **kwargs):
    """Standard deviation; the gradient is 0 where the std is 0 (a constant slice), as PyTorch."""
    if out is not None:
        return with_out(std, "std", out,
                        (input, dim, unbiased, keepdim), {"correction": correction, **kwargs})
    return StdSqrt.apply(_var(input, dim, unbiased, keepdim, correction, "std", kwargs))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, **kwargs):
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "var_mean", dim, keepdim)
    if isinstance(dim, bool):  # var_mean(x, False): the old positional `unbiased`
        unbiased, dim = dim, None
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, **kwargs):
    if kwargs:
        dim, keepdim = numpy_kwargs(kwargs, "std_mean", dim, keepdim)
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)
