"""Pairwise distances: cdist, the p-norm distance between every row of one batch of points
and every row of another.

Shape: x1 (*, P, M), x2 (*, R, M) -> (*, P, R); the leading dims broadcast.
"""

from __future__ import annotations

import numpy as np

from ..amp import state as _amp
from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from .broadcast import broadcast_shapes, unbroadcast
from .half_compute import in_float32, is_half_numpy

_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
          "donot_use_mm_for_euclid_dist")


def _swap(a):
    return a.swapaxes(-1, -2)


def _pairwise_diff(a, b):
    return a[..., :, None, :] - b[..., None, :, :]  # (*, P, R, M)


class Cdist(Op):
    """p = 2 through matmuls when asked (|a|^2 + |b|^2 - 2 a.b, O(P R) memory), else through the
    (*, P, R, M) differences. The gradient at a zero distance is 0, as PyTorch's."""

    @staticmethod
    def forward(ctx, a, b, p, use_mm):
        xp = get_xp(a)
        ctx.p = p
        if p == 2 and use_mm:
            d2 = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[..., None, :]
            d2 = d2 - 2 * xp.matmul(a, _swap(b))
            d = xp.sqrt(xp.maximum(d2, 0))  # rounding may leave tiny negatives
        else:
            diff = xp.abs(_pairwise_diff(a, b))
            if p == 0:
                d = (diff != 0).sum(-1).astype(a.dtype)
            elif p == 1:
                d = diff.sum(-1)
            elif p == 2:
                d = xp.sqrt((diff * diff).sum(-1))
            elif p == np.inf:
                d = diff.max(-1) if diff.shape[-1] else diff.sum(-1)
            else:
                d = (diff ** p).sum(-1) ** (1.0 / p)
        ctx.save_for_backward(a, b, d)
        return d

    # PyTorch does not differentiate this op's backward: neither does the graph path
    graph_backward = staticmethod(lambda ctx, *grads: _refuse_double_backward(ctx, *grads))

    @staticmethod
    def backward(ctx, g):
        a, b, d = ctx.saved_tensors
        xp = get_xp(g)
        p = ctx.p
        if p == 0:
            return xp.zeros_like(a), xp.zeros_like(b), None, None
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:  # d/da_i sum_j G_ij |a_i - b_j| = sum_j G_ij (a_i - b_j) / d_ij
                w = xp.where(d == 0, 0, g / d).astype(g.dtype, copy=False)
                ga = w.sum(-1)[..., None] * a - xp.matmul(w, b)
                gb = _swap(w).sum(-1)[..., None] * b - xp.matmul(_swap(w), a)
                return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape), None, None
            diff = _pairwise_diff(a, b)
            sign = xp.sign(diff)
            dd = d[..., None]
            if p == 1:
                gd = sign
            elif p == np.inf:
                gd = sign * (xp.abs(diff) == dd)
            else:
                gd = sign * (xp.abs(diff) / dd) ** (p - 1)
                gd = xp.where((dd == 0) | (diff == 0), 0, gd)
            gd = (gd * g[..., None]).astype(g.dtype, copy=False)
        return unbroadcast(gd.sum(-2), a.shape), unbroadcast(-gd.sum(-3), b.shape), None, None


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 and each row of x2 (p >= 0, inf allowed).

    For p = 2 the default mode uses matrix products when P > 25 or R > 25 (faster, slightly
    less exact for near-equal points), as PyTorch. Shape: (*, P, M), (*, R, M) -> (*, P, R).
    """
    if _amp.on:
        x1, x2 = _amp.cast("cdist", x1, x2)
    for name, t in (("X1", x1), ("X2", x2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"cdist(): expected Tensors, got {type(t).__name__}")
        if t._data.dtype.kind not in "fV":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{t.dtype}")
        if t._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t._data.ndim}D")
    a, b = x1._data, x2._data
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} "
                           f"X2: {b.shape[-1]}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"cdist: X1 and X2 must have the same dtype, got {x1.dtype} and "
                           f"{x2.dtype}")
    broadcast_shapes("cdist", a.shape[:-2], b.shape[:-2])
    p = float(p)
    if not p >= 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    use_mm = compute_mode == _MODES[1] or (
        compute_mode == _MODES[0] and (a.shape[-2] > 25 or b.shape[-2] > 25))
    op = in_float32(Cdist) if is_half_numpy(x1._data) else Cdist  # see half_compute
    return op.apply(x1, x2, p, use_mm)


def _refuse_double_backward(ctx, *grads):
    # graph_backward (and the differentiable-array machinery it loads) is imported only when a
    # graph of the backward pass is built, not by `import torchlite`
    from ..autograd.graph_backward import refuse_double_backward

    return refuse_double_backward("_cdist_backward")(ctx, *grads)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of input - other (broadcast), over all elements."""
    from .reduction import norm

    return norm(input - other, float(p))
