"""Counting: bincount and histc (no gradients, as PyTorch)."""

from __future__ import annotations

import numpy as np

from ..backend import get_default_dtype, get_xp
from ..tensor import Tensor
from .scatter import bincount as _bincount


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0..max occurs in the 1-D non-negative integer `input` (at least
    `minlength` bins), or the sum of `weights` at each value."""
    x = input._data
    if x.ndim != 1 or x.dtype.kind not in "iub" or (
            x.size and get_xp(x) is np and int(x.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and tuple(weights.shape) != tuple(input.shape):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    n = max(int(x.max()) + 1 if x.size else 0, int(minlength))
    w = None if weights is None else weights._data
    r = _bincount(x.astype(np.int64, copy=False), n, w)
    if weights is not None:
        dt = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
        r = r.astype(dt, copy=False)
    return Tensor._make(r, input._device)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """A histogram of `bins` equal-width bins over [min, max] (the data's range when both are
    0); values outside are ignored, max falls in the last bin."""
    x = input._data
    if x.dtype.kind not in "fV":
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{input.dtype}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for bins")
    xp = get_xp(x)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc: max must be larger than min, but got min {lo} max {hi}")
    flat = x.reshape(-1)
    inside = flat[(flat >= lo) & (flat <= hi)]
    idx = xp.minimum(((inside - lo) * (bins / (hi - lo))).astype(np.int64), bins - 1)
    counts = _bincount(idx, bins)
    dt = x.dtype if x.dtype.kind == "f" else get_default_dtype().np
    return Tensor._make(counts.astype(dt), input._device)
