"""batch_norm, layer_norm, group_norm: dedicated Ops sharing one normalisation backward.

All three compute xhat = (x - mean) / sqrt(var + eps) over some axes (biased variance), then an
affine map. The gradient through the statistics is the same formula in each case:
    dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))   (means over the axes)
local_response_norm (across channels) is composed of differentiable ops.
"""

from __future__ import annotations

import numpy as np

from ...amp import state as _amp
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.half_compute import in_float32, is_half_numpy
from ...tensor import Tensor
from ._util import check_float
from .norm_stats import restore_stats

# The helpers below run under np.errstate: a diverging model's huge activations overflow to inf
# and NaN, as in PyTorch, without NumPy warnings.
_QUIET = {"over": "ignore", "invalid": "ignore"}


def _stats(xp, x, axes, eps):
    with np.errstate(**_QUIET):
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
        invstd = 1.0 / xp.sqrt(var + eps)
        return mean, var, centred * invstd, invstd


def _norm_backward(dxhat, xhat, invstd, axes):
    with np.errstate(**_QUIET):
        m1 = dxhat.mean(axis=axes, keepdims=True)
        m2 = (dxhat * xhat).mean(axis=axes, keepdims=True)
        return invstd * (dxhat - m1 - xhat * m2)


def _affine(xhat, w, b, shape):
    """y = xhat * w + b, with w and b (either may be None) viewed as `shape` to broadcast."""
    with np.errstate(**_QUIET):
        y = xhat * w.reshape(shape) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(shape)
    return y


def _affine_grads(g, xhat, need, axes):
    """The gradients of w and b in `_affine` (None where not needed): sums over `axes`."""
    with np.errstate(**_QUIET):
        gw = (g * xhat).sum(axis=axes) if need[1] else None
        gb = g.sum(axis=axes) if need[2] else None
    return gw, gb


def _channel_shape(ndim: int, c: int):
    shape = [1] * ndim
    shape[1] = c
    return tuple(shape)


class BatchNorm(Op):
    """Normalise over every axis but 1 (the channel axis) with batch or given statistics."""

    @staticmethod
    def forward(ctx, x, w, b, mean, var, training, eps, stats_out):
        xp = get_xp(x)
        axes = tuple(i for i in range(x.ndim) if i != 1)
        cshape = _channel_shape(x.ndim, x.shape[1])
        if training:
            bmean, bvar, xhat, invstd = _stats(xp, x, axes, eps)
            stats_out.append((bmean.reshape(-1), bvar.reshape(-1)))
        else:
            invstd = (1.0 / xp.sqrt(var + eps)).reshape(cshape)
            xhat = (x - mean.reshape(cshape)) * invstd
        ctx.training, ctx.axes, ctx.cshape = training, axes, cshape
        ctx.save_for_backward(xhat, invstd, w)
        return _affine(xhat, w, b, cshape)

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = None
        if need[0]:
            dxhat = g * w.reshape(ctx.cshape) if w is not None else g
            if ctx.training:
                gx = _norm_backward(dxhat, xhat, invstd, ctx.axes)
            else:
                gx = dxhat * invstd
        gw, gb = _affine_grads(g, xhat, need, ctx.axes)
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def graph_saved(ctx, saved):
        return restore_stats(ctx, saved, 0, 1, ctx.axes, saved[0].shape, ctx.training)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over channel dim 1. Shape: (N, C) or (N, C, *).

    In training, normalises with the batch statistics and updates running_mean/running_var in
    place (running = (1 - momentum) * running + momentum * batch, unbiased batch variance).
    Otherwise normalises with the running statistics.
    """
    check_float(input, "batch_norm")
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {input.dim()}D input)")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.numel() != c:
            raise RuntimeError(
                f"batch_norm: {name} should contain {c} elements not {t.numel()}"
            )
    n = input.numel() // max(c, 1)
    if training and n <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size "
            f"{input.shape!r}"
        )
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var must be defined in eval mode")
    rm = running_mean._data if running_mean is not None else None
    rv = running_var._data if running_var is not None else None
    # The Op receives the statistics as plain arrays (they take no gradient).
    stats: list = []  # the Op hands back the batch statistics through this list
    # float16/bfloat16 input: statistics in float32, output in the input's dtype (PyTorch's
    # mixed batch norm), unless the running statistics are low precision too (their in-place
    # update must reach the arrays themselves, not float32 copies)
    op = BatchNorm
    if is_half_numpy(input._data) and not (is_half_numpy(rm) or is_half_numpy(rv)):
        op = in_float32(BatchNorm)
    y = op.apply(input, weight, bias, rm, rv, bool(training), float(eps), stats)
    if training and (running_mean is not None or running_var is not None):
        bmean, bvar = stats[0]
        m = float(momentum)
        if running_mean is not None:
            running_mean._data *= 1.0 - m
            running_mean._data += m * bmean.astype(rm.dtype, copy=False)
            running_mean._bump()
        if running_var is not None:
            unbiased = bvar * (n / (n - 1))
            running_var._data *= 1.0 - m
            running_var._data += m * unbiased.astype(rv.dtype, copy=False)
            running_var._bump()
    return y


class LayerNorm(Op):
    """Normalise over the last k axes; weight and bias have the shape of those axes."""

    @staticmethod
    def forward(ctx, x, w, b, k, eps):
        xp = get_xp(x)
        axes = tuple(range(x.ndim - k, x.ndim))
        _, _, xhat, invstd = _stats(xp, x, axes, eps)
        ctx.axes = axes
        ctx.save_for_backward(xhat, invstd, w)
        return _affine(xhat, w, b, x.shape[x.ndim - k:])

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        lead = tuple(range(g.ndim - len(ctx.axes)))
        gx = None
        if need[0]:
            gx = _norm_backward(g * w if w is not None else g, xhat, invstd, ctx.axes)
        gw, gb = _affine_grads(g, xhat, need, lead)
        return gx, gw, gb, None, None

    @staticmethod
    def graph_saved(ctx, saved):
        return restore_stats(ctx, saved, 0, 1, ctx.axes, saved[0].shape)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing dims given by normalized_shape. Shape: (*, *normalized_shape)."""
    if _amp.on:
        input, weight, bias = _amp.cast("layer_norm", input, weight, bias)
    check_float(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.dim() - k:]) != shape or input.dim() < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(str(s) for s in shape)}], but got input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"layer_norm: expected {name} of shape {list(shape)}, got {list(t.shape)}"
            )
    op = in_float32(LayerNorm) if is_half_numpy(input._data) else LayerNorm  # statistics in f32
    return op.apply(input, weight, bias, k, float(eps))


class GroupNorm(Op):
    """Normalise each (sample, group of channels); per-channel affine."""

    @staticmethod
    def forward(ctx, x, w, b, groups, eps):
        xp = get_xp(x)
        n, c = x.shape[0], x.shape[1]
        xg = x.reshape(n, groups, -1)
        _, _, xhat, invstd = _stats(xp, xg, (2,), eps)
        xhat = xhat.reshape(x.shape)
        cshape = _channel_shape(x.ndim, c)
        ctx.groups, ctx.cshape = groups, cshape
        ctx.save_for_backward(xhat, invstd, w)
        return _affine(xhat, w, b, cshape)

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        axes = tuple(i for i in range(g.ndim) if i != 1)
        gx = None
        if need[0]:
            dxhat = g * w.reshape(ctx.cshape) if w is not None else g
            n = g.shape[0]
            gx = _norm_backward(dxhat.reshape(n, ctx.groups, -1),
                                xhat.reshape(n, ctx.groups, -1), invstd, (2,)).reshape(g.shape)
        gw, gb = _affine_grads(g, xhat, need, axes)
        return gx, gw, gb, None, None

    @staticmethod
    def graph_saved(ctx, saved):
        shape = saved[0].shape
        return restore_stats(ctx, saved, 0, 1, (2,), (shape[0], ctx.groups, -1))


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalisation (Wu & He, 2018). Shape: (N, C, *), C divisible by num_groups."""
    if _amp.on:
        input, weight, bias = _amp.cast("group_norm", input, weight, bias)
    check_float(input, "group_norm")
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}"
        )
    c = input.shape[1]
    if c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {input.shape!r} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"group_norm: expected {name} with {c} elements, got {t.numel()}")
    op = in_float32(GroupNorm) if is_half_numpy(input._data) else GroupNorm  # statistics in f32
    return op.apply(input, weight, bias, int(num_groups), float(eps))


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x**2) + eps) over the trailing dims (eps defaults to the dtype's epsilon)."""
    check_float(input, "rms_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.dim() - len(shape):]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(str(s) for s in shape)}], but got input of size{list(input.shape)}"
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    out = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """input / (k + alpha * mean of input^2 over `size` neighbouring channels)^beta, the
    window centred as PyTorch's (size // 2 before, (size - 1) // 2 after, zero-padded)."""
    from ...ops.pad import pad

    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    square = input * input
    # pad dim 1 only: F.pad's pairs run from the last dim backwards
    widths = (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2)
    windows = pad(square, widths).unfold(1, size, 1)  # (N, C, ..., size)
    div = (windows.mean(-1) * alpha + k) ** beta
    return input / div
