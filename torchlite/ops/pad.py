"""Padding: constant, reflect, replicate and circular, with PyTorch's (last dim first) order."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.views import view_of
from ..backend import get_xp
from ..tensor import Tensor
from .half_compute import in_float32, is_half_numpy
from .shape import Slice


class PadConstant(Op):
    @staticmethod
    def forward(ctx, x, widths, value):
        xp = get_xp(x)
        ctx.key = tuple(slice(lo, lo + s) for (lo, _), s in zip(widths, x.shape))
        return xp.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.key], None, None


class PadIndex(Op):
    """reflect / replicate / circular padding of one dim: out = x.take(idx, axis)."""

    @staticmethod
    def forward(ctx, x, axis, idx):
        xp = get_xp(x)
        ctx.axis, ctx.idx, ctx.n = axis, xp.asarray(idx), x.shape[axis]
        return xp.take(x, ctx.idx, axis=axis)

    @staticmethod
    def backward(ctx, g):
        # The gradient of a gather along one axis: a (n_out, n_in) 0/1 matrix product; pads are
        # narrow so the matrix is small, and it avoids a scatter-add.
        xp = get_xp(g)
        onehot = xp.zeros((len(ctx.idx), ctx.n), dtype=g.dtype)
        onehot[xp.arange(len(ctx.idx)), ctx.idx] = 1
        moved = xp.moveaxis(g, ctx.axis, -1)
        return xp.moveaxis(moved @ onehot, -1, ctx.axis), None, None


def _pad_index(n, lo, hi, mode):
    pos = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":
        return pos % n
    # reflect (edge not repeated)
    period = 2 * (n - 1)
    p = np.abs(pos) % period if period else np.zeros_like(pos)
    return np.where(p >= n, period - p, p)


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last len(pad)//2 dims: pad = (left_last, right_last, left_prev, right_prev, ...)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(pad)}")
    nd = input._data.ndim
    k = len(pad) // 2
    if k > nd:
        raise RuntimeError(f"pad: padding {pad} has {k} dims but the input has only {nd}")
    widths = [(0, 0)] * nd
    for i in range(k):
        widths[nd - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: unknown padding mode {mode!r}")
    sizes = input._data.shape
    if mode == "circular":
        for (lo, hi), n in zip(widths, sizes):
            if lo > n or hi > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        # negative padding crops first; every mode then pads the cropped tensor, as PyTorch
        key = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(widths, sizes))
        input = view_of(Slice.apply(input, key), input, Slice, key)
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        return PadConstant.apply(input, tuple(widths), 0 if value is None else value)
    out = input
    for axis, (lo, hi) in enumerate(widths):
        if lo == hi == 0:
            continue
        n = out._data.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"pad: padding size ({lo}, {hi}) should be less than the corresponding input "
                f"dimension ({n}) in reflect mode"
            )
        op = in_float32(PadIndex) if is_half_numpy(out._data) else PadIndex  # see half_compute
        out = op.apply(out, axis, _pad_index(n, lo, hi, mode))
    return out
