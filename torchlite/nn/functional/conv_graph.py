"""The convolutions' backward as convolutions, for graphs of the backward pass.

Conv2dOp and ConvTranspose2dOp differentiate with im2col columns, pooled scratch buffers and
strided views: fast, and nothing a graph can be recorded through. When a graph of the backward
pass is built (`create_graph=True`) they use this formulation instead, the textbook identities
written with the differentiable conv2d / conv_transpose2d themselves, so their derivatives (and
those derivatives' derivatives) come from the same two ops:

    conv2d:            dx = conv_transpose2d(g, w)      dw = conv2d(x^T, g^T)^T (cropped)
    conv_transpose2d:  dx = conv2d(g, w)                dw = conv2d(g^T, x^T)^T (cropped)

where ^T swaps the batch and channel dims, and the weight-gradient convolution swaps stride
and dilation. Groups run one at a time.
"""

from __future__ import annotations

from ...autograd.darray import DArray, wrap
from ...tensor import Tensor


def _t(x) -> Tensor | None:
    return None if x is None else wrap(x).t


def _weight_grad(a: Tensor, b: Tensor, groups: int, padding, stride, dilation, k) -> Tensor:
    """sum over batch and positions of a (N, Ca, H, W) against b (N, Cb, h, w) windows:
    (Cb, Ca/groups, kh, kw) per group pairing, as the weight gradient of a convolution."""
    from ...ops.join import cat
    from .conv import conv2d

    ca, cb = a.shape[1] // groups, b.shape[1] // groups
    parts = []
    for i in range(groups):
        ag = a[:, i * ca:(i + 1) * ca].transpose(0, 1)
        bg = b[:, i * cb:(i + 1) * cb].transpose(0, 1)
        r = conv2d(ag, bg, None, dilation, padding, stride)  # (Ca, Cb, kh', kw')
        parts.append(r[:, :, :k[0], :k[1]].transpose(0, 1))
    return parts[0] if groups == 1 else cat(parts, 0)


def conv2d_graph_backward(ctx, g):
    """Conv2dOp's gradients as differentiable convolutions (see the module docstring)."""
    from .conv import conv_transpose2d
    from .fused_act import bias_act_grad

    _cols, w, saved, x = ctx.saved_tensors
    if ctx.act is not None:
        g = bias_act_grad(g, saved, ctx.act)
    gt, wt = _t(g), _t(w)
    geom = ctx.geom
    stride, dilation, padding = (geom.sh, geom.sw), (geom.dh, geom.dw), ctx.padding
    n = ctx.needs_input_grad
    gx = gw = gb = None
    H, W = ctx.hw
    k = wt.shape[2:]
    if n[0]:
        out_pad = tuple(size - ((o - 1) * s - 2 * p + d * (kk - 1) + 1)
                        for size, o, s, p, d, kk in zip((H, W), gt.shape[2:], stride, padding,
                                                        dilation, k))
        gx = conv_transpose2d(gt, wt, None, stride, padding, out_pad, ctx.groups, dilation)
    if n[1]:
        gw = _weight_grad(_t(x), gt, ctx.groups, padding, stride, dilation, k)
    if n[2] and ctx.has_bias:
        gb = gt.sum((0, 2, 3))
    return tuple(DArray(r) if r is not None else None for r in (gx, gw, gb)) + (None,) * 5


def conv_transpose2d_graph_backward(ctx, g):
    """ConvTranspose2dOp's gradients as differentiable convolutions."""
    from .conv import conv2d

    _xc, w, x = ctx.saved_tensors
    gt, wt = _t(g), _t(w)
    geom = ctx.geom
    stride, dilation, padding = (geom.sh, geom.sw), (geom.dh, geom.dw), ctx.padding
    n = ctx.needs_input_grad
    gx = gw = gb = None
    k = wt.shape[2:]
    if n[0]:
        gx = conv2d(gt, wt, None, stride, padding, dilation, ctx.groups)
        gx = gx[:, :, :ctx.hw[0], :ctx.hw[1]]
    if n[1]:
        gw = _weight_grad(gt, _t(x), ctx.groups, padding, stride, dilation, k)
    if n[2] and ctx.has_bias:
        gb = gt.sum((0, 2, 3))
    return tuple(DArray(r) if r is not None else None for r in (gx, gw, gb)) + (None,) * 5
