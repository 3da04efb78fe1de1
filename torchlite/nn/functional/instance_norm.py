"""instance_norm: normalise each (sample, channel) plane over its spatial positions.

One fused Op (mean, variance, normalisation and the affine map in one forward, the closed-form
gradient in one backward) instead of a dozen small ops.
"""

from __future__ import annotations

from ...autograd.function import Op
from ...autograd.grad_mode import no_grad
from ...backend import get_xp
from ...tensor import Tensor


class InstanceNormOp(Op):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp = get_xp(x)
        axes = tuple(range(2, x.ndim))
        cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        rstd = 1.0 / xp.sqrt(var + x.dtype.type(eps))
        xhat = xc * rstd
        y = xhat
        if weight is not None:
            y = y * weight.reshape(cshape)
        if bias is not None:
            y = y + bias.reshape(cshape)
        ctx.axes, ctx.cshape = axes, cshape
        ctx.has_w, ctx.has_b = weight is not None, bias is not None
        ctx.save_for_backward(xhat, rstd, weight)
        mean, var = mean.reshape(x.shape[:2]), var.reshape(x.shape[:2])
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, g, *_):
        xhat, rstd, weight = ctx.saved_tensors
        n = ctx.needs_input_grad
        axes, red = ctx.axes, (0,) + ctx.axes
        gx = gw = gb = None
        if n[1] and ctx.has_w:
            gw = (g * xhat).sum(axis=red)
        if n[2] and ctx.has_b:
            gb = g.sum(axis=red)
        if n[0]:
            gxh = g * weight.reshape(ctx.cshape) if ctx.has_w else g
            gx = rstd * (gxh - gxh.mean(axis=axes, keepdims=True)
                         - xhat * (gxh * xhat).mean(axis=axes, keepdims=True))
        return gx, gw, gb, None

    @staticmethod
    def graph_saved(ctx, saved):
        from .norm_stats import restore_stats

        return restore_stats(ctx, saved, 0, 1, ctx.axes, saved[0].shape)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation (Ulyanov et al., 2016), as torch.nn.functional.instance_norm.

    Shape: (N, C, *) -> same. Each (n, c) plane is normalised with its own mean and biased
    variance; with `use_input_stats=False` the running statistics are used instead. When running
    statistics are given and input statistics are used, they are updated in place with the
    batch average of the per-instance mean and unbiased variance.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input with at least 3 dims (N, C, *), got "
                         f"shape {tuple(input.shape)}")
    C = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (C,):
            raise RuntimeError(f"instance_norm: {name} must have shape ({C},), got "
                               f"{tuple(t.shape)}")
    cshape = (1, C) + (1,) * (input.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and "
                             "running_var")
        out = (input - running_mean.reshape(cshape)) * (running_var.reshape(cshape) + eps).rsqrt()
        if weight is not None:
            out = out * weight.reshape(cshape)
        if bias is not None:
            out = out + bias.reshape(cshape)
        return out
    y, mean, var = InstanceNormOp.apply(input, weight, bias, float(eps))
    if running_mean is not None or running_var is not None:
        m = float(momentum)
        n = input.numel() // (input.shape[0] * C)
        with no_grad():
            if running_mean is not None:
                rm = running_mean._data
                rm *= 1 - m
                rm += m * mean._data.mean(axis=0).astype(rm.dtype, copy=False)
                running_mean._bump()
            if running_var is not None:
                rv = running_var._data
                unbiased = var._data.mean(axis=0) * (n / max(n - 1, 1))
                rv *= 1 - m
                rv += m * unbiased.astype(rv.dtype, copy=False)
                running_var._bump()
    return y
