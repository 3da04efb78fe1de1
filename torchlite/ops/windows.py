"""Tensor.unfold: every slice of `size` elements along a dim, `step` apart, as a new last dim.

The result is a strided view of the input (windows may overlap, so it is read-only through
autograd's view tracking); its gradient adds each window's gradient back where it came from.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..autograd.views import view_of
from ..backend import get_xp
from ..tensor import Tensor
from .dims import wrap_dim


def _windows(xp, x, dim: int, size: int, step: int):
    n = x.shape[dim]
    count = (n - size) // step + 1
    shape = x.shape[:dim] + (count,) + x.shape[dim + 1:] + (size,)
    strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1:] + (x.strides[dim],)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def unfold_backward(xp, g, dim: int, n: int, size: int, step: int):
    """The input's gradient from the windows' `g`: window element k of window j goes back to
    position j * step + k. Written with whole-array ops (one pass per window offset)."""
    count = g.shape[dim]
    total = None
    for k in range(size):
        gk = xp.take(g, k, axis=-1)
        if step > 1:  # j * step: interleave step - 1 zeros after each window's value
            z = xp.zeros_like(gk)
            gk = xp.stack([gk] + [z] * (step - 1), axis=dim + 1)
            gk = gk.reshape(gk.shape[:dim] + (count * step,) + gk.shape[dim + 2:])
        keep = min(gk.shape[dim], n - k)
        if keep < gk.shape[dim]:
            gk = xp.take(gk, xp.arange(keep), axis=dim)
        pad = [(0, 0)] * gk.ndim
        pad[dim] = (k, n - k - keep)
        gk = xp.pad(gk, pad)
        total = gk if total is None else total + gk
    return total


class Unfold(Op):
    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.dim, ctx.n, ctx.size, ctx.step = dim, x.shape[dim], size, step
        return _windows(get_xp(x), x, dim, size, step)

    @staticmethod
    def backward(ctx, g):
        return unfold_backward(get_xp(g), g, ctx.dim, ctx.n, ctx.size, ctx.step), None, None, None


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Windows of `size` elements, `step` apart, along `dimension`, as a new last dim.

    Shape: (..., n, ...) -> (..., (n - size) // step + 1, ..., size).
    """
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input._data.ndim == 0:
        wrap_dim(dimension, 0, "unfold")
        if size > 1:
            raise RuntimeError(f"maximum size for tensor at dimension 0 is 1 but size is {size}")
        return input.reshape(1)
    d = wrap_dim(dimension, input._data.ndim, "unfold")
    n = input._data.shape[d]
    if size < 0 or size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    out = Unfold.apply(input, d, int(size), int(step))
    return view_of(out, input, Unfold, d, int(size), int(step), writable=False)
