"""Joining and splitting: cat, stack, split, chunk, unbind. Pieces of a split are views."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from ._util import wrap_dim
from .shape import narrow, select, unsqueeze


class Cat(Op):
    @staticmethod
    def forward(ctx, axis, dt, *arrays):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        ctx.dtypes = [a.dtype for a in arrays]
        xp = get_xp(arrays[0])
        return xp.concatenate([a.astype(dt, copy=False) for a in arrays], axis=axis)

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        bounds = np.cumsum(ctx.sizes)[:-1]
        parts = xp.split(g, bounds.tolist(), axis=ctx.axis)
        return (None, None) + tuple(
            p.astype(dt, copy=False) if n else None
            for p, dt, n in zip(parts, ctx.dtypes, ctx.needs_input_grad[2:])
        )


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    from ._util import result_dtype

    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    # PyTorch skips legacy empty 1-D tensors in cat
    live = [t for t in tensors if not (t._data.ndim == 1 and t._data.size == 0)] or tensors[:1]
    ref = live[0]._data
    if ref.ndim == 0:
        raise RuntimeError("cat(): zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(live):
        s = t._data.shape
        if len(s) != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(s, ref.shape))
                                     if j != d):
            raise RuntimeError(
                f"cat(): Sizes of tensors must match except in dimension {d}. Expected size "
                f"{tuple(ref.shape)} but got size {tuple(s)} for tensor number {i} in the list."
            )
    dt = result_dtype(*live) if len(live) > 1 else ref.dtype
    if len(live) == 1:
        return live[0].clone()
    return Cat.apply(d, dt, *live)


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}"
            )
    d = wrap_dim(dim, len(shape) + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t if t.ndim > 1 else t.reshape(1, -1) for t in tensors], 0)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0):
    """Split into chunks of `split_size` (the last may be smaller) or into the given sizes."""
    d = wrap_dim(dim, tensor._data.ndim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s <= 0 and n > 0:
            raise RuntimeError(f"split: split_size must be positive, got {s}")
        sizes = [min(s, n - i) for i in range(0, n, s)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input._data.ndim, "chunk")
    n = input._data.shape[d]
    size = -(-n // chunks) if n else 1
    return split(input, max(size, 1), d)


def tensor_split(input: Tensor, sections: int, dim: int = 0):
    d = wrap_dim(dim, input._data.ndim, "tensor_split")
    n = input._data.shape[d]
    q, r = divmod(n, sections)
    return split(input, [q + 1] * r + [q] * (sections - r), d)


def unbind(input: Tensor, dim: int = 0):
    d = wrap_dim(dim, input._data.ndim, "unbind")
    return tuple(select(input, d, i) for i in range(input._data.shape[d]))
