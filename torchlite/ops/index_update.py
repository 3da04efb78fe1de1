"""Updates at indices along a dim or under a mask: index_fill, index_copy, masked_scatter, put.

Each is composed of the differentiable indexing ops (where, scatter, gather, index_put), so the
gradients reach the input and the source as PyTorch's do.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_xp
from ..tensor import Tensor
from .dim_indexing import index_array, scatter
from .dims import wrap_dim
from .indexing import index_put
from .ternary import where


def _along(input: Tensor, dim: int, index: Tensor, op: str):
    d = wrap_dim(dim, input.ndim, op)
    idx = index_array(index, input, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    n = input.shape[d] if input.ndim else 1
    xp = get_xp(idx)
    if xp is np and idx.size and (int(idx.max()) >= n or int(idx.min()) < -n):
        raise IndexError(f"{op}(): index out of range in self (dim {d} has size {n})")
    return d, idx.reshape(-1) % max(n, 1)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of input with the slices at `index` along `dim` set to `value` (a number or a 0-d
    tensor, which then gets the gradient of the filled places)."""
    d, idx = _along(input, dim, index, "index_fill")
    xp = get_xp(input._data)
    hit = xp.zeros(input.shape[d] if input.ndim else 1, dtype=bool)
    hit[idx] = True
    shape = [1] * input.ndim
    if input.ndim:
        shape[d] = input.shape[d]
    mask = Tensor._make(hit.reshape(shape), input._device)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    return where(mask, value.to(input.dtype) if isinstance(value, Tensor) else value, input)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of input with source's slices written at `index` along `dim` (source is input's
    shape with len(index) at dim)."""
    d, idx = _along(input, dim, index, "index_copy")
    want = list(input.shape)
    if want:
        want[d] = idx.size
    if list(source.shape) != want:
        raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice "
                           f"shapes. Destination slice shape: {want}, source shape: "
                           f"{list(source.shape)}")
    shape = [1] * len(want)
    if shape:
        shape[d] = idx.size
    full = get_xp(idx).broadcast_to(idx.reshape(shape), tuple(want))
    return scatter(input, d, Tensor._make(full.astype(np.int64), input._device), source)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of input with source's leading elements (in row-major order) written where
    `mask` (broadcast to input) is True."""
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        raise RuntimeError("masked_scatter_ only supports boolean masks")
    if source.dtype != input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got {input.dtype} and {source.dtype}")
    xp = get_xp(input._data)
    m = xp.broadcast_to(mask._data, input._data.shape)
    pos = xp.cumsum(m.reshape(-1)) - 1  # the source element each True takes
    if xp is np and m.any() and int(pos[-1]) >= source.numel():
        raise RuntimeError("masked_scatter: expected source to have at least as many elements "
                           "as there are ones in mask")
    take = Tensor._make(xp.maximum(pos, 0).astype(np.int64), input._device)
    vals = source.reshape(-1).gather(0, take).reshape(input.shape)
    return where(Tensor._make(m, input._device), vals, input)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of input with source written (or added, with accumulate) at the flat positions
    `index` of input seen as 1-D."""
    flat = input.reshape(-1)
    out = index_put(flat, (index.reshape(-1),), source.reshape(-1), accumulate)
    return out.reshape(input.shape)
