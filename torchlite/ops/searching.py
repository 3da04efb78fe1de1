"""Searching sorted sequences and sets: searchsorted, bucketize, isin (no gradients, as
PyTorch)."""

from __future__ import annotations

import numbers

import numpy as np

from ..backend import get_xp
from ..tensor import Tensor


def _raw(x, like: Tensor):
    if isinstance(x, Tensor):
        return x._data
    return get_xp(like._data).asarray(x)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """Indices where `input`'s values would be inserted into the innermost dim of
    `sorted_sequence` to keep it sorted (the first such place; the last with right=True or
    side='right'). A 1-D sequence serves every value; otherwise the leading dims must match."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    xp = get_xp(seq)
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    scalar = isinstance(input, numbers.Number)
    values = _raw(input, sorted_sequence)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        r = xp.searchsorted(seq, values, side=how)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(
                f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                f"dimensions of boundaries tensor and input value tensor must match, but we got "
                f"boundaries tensor {list(seq.shape)} and input value tensor "
                f"{list(values.shape)}")
        flat_s = seq.reshape(-1, seq.shape[-1])
        flat_v = values.reshape(-1, values.shape[-1])
        r = xp.stack([xp.searchsorted(s, v, side=how) for s, v in zip(flat_s, flat_v)])
        r = r.reshape(values.shape)
    r = xp.asarray(r, dtype=np.int32 if out_int32 else np.int64)
    if scalar:
        r = r.reshape(())
    return Tensor._make(r, sorted_sequence._device)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The index of the bucket of `boundaries` (1-D, sorted) each value falls in: with
    right=False, boundaries[i-1] < x <= boundaries[i]."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each of `elements` is in `test_elements` (either may be a number)."""
    like = elements if isinstance(elements, Tensor) else test_elements
    if not isinstance(like, Tensor):
        raise TypeError("isin(): at least one of elements and test_elements must be a Tensor")
    a, b = _raw(elements, like), _raw(test_elements, like)
    xp = get_xp(like._data)
    r = xp.isin(a, b, assume_unique=assume_unique, invert=invert)
    return Tensor._make(xp.asarray(r), like._device)
