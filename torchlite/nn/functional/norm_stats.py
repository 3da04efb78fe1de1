"""The normalisation statistics as a differentiable function of the input, for graphs of the
backward pass.

batch_norm, layer_norm, group_norm and instance_norm keep xhat = (x - mean) * invstd and invstd
for their fast backward, not x. When a graph of that backward is built (`create_graph=True`),
xhat and invstd must carry their dependence on x. `NormStats` is that dependence as an op,
x -> (xhat, invstd), whose derivative needs only xhat and invstd themselves (its own outputs):

    d xhat   = invstd * (dx - mean(dx) - xhat * mean(dx * xhat))
    d invstd = -invstd**2 * mean(xhat * dx)                        (means over the axes)

so the graph path restores both as outputs of a NormStats node hung on x's edge, and the norm's
one backward formula runs unchanged over them, to any order.
"""

from __future__ import annotations

from ...autograd.function import Op
from ...backend import get_xp


class NormStats(Op):
    """x -> (xhat, invstd) over `axes` of x viewed as `shape` (group norm's grouped view)."""

    @staticmethod
    def forward(ctx, x, axes, shape, eps, training=True):
        xs = x.reshape(shape)
        mean = xs.mean(axis=axes, keepdims=True)
        c = xs - mean
        invstd = 1.0 / get_xp(x).sqrt((c * c).mean(axis=axes, keepdims=True) + eps)
        xhat = (c * invstd).reshape(x.shape)
        ctx.axes, ctx.shape, ctx.training = axes, shape, training
        ctx.save_for_backward(xhat, invstd)
        return xhat, invstd

    @staticmethod
    def backward(ctx, g_xhat, g_invstd):
        xhat, invstd = ctx.saved_tensors
        axes, shape = ctx.axes, ctx.shape
        xh = xhat.reshape(shape)
        if not ctx.training:  # given statistics: xhat is affine in x
            return (g_xhat.reshape(shape) * invstd).reshape(xhat.shape), None, None, None, None
        gx = None
        if g_xhat is not None:
            d = g_xhat.reshape(shape)
            gx = invstd * (d - d.mean(axis=axes, keepdims=True)
                           - xh * (d * xh).mean(axis=axes, keepdims=True))
        if g_invstd is not None:
            n = xh.size // invstd.size
            gi = (-(invstd * invstd) / n) * g_invstd * xh
            gx = gi if gx is None else gx + gi
        return gx.reshape(xhat.shape), None, None, None, None


def restore_stats(node, saved: tuple, i_xhat: int, i_invstd: int, axes: tuple, shape: tuple,
                  training: bool = True) -> tuple:
    """`saved` with xhat (index i_xhat) and invstd (index i_invstd) replaced by outputs of a
    NormStats node on the input's edge (the norm op's first input), as the graph path needs."""
    from ...autograd.darray import DArray, raw
    from ...autograd.graph_backward import hang

    edge = node.next_edges[0]
    if edge is None:
        return saved
    xhat, invstd = raw(saved[i_xhat]), raw(saved[i_invstd])
    t_xhat, t_invstd = hang(NormStats, (edge, None, None, None, None), (xhat, invstd),
                            axes=axes, shape=shape, training=training)
    out = list(saved)
    out[i_xhat] = DArray(t_xhat)
    if training:
        out[i_invstd] = DArray(t_invstd)
    return tuple(out)
