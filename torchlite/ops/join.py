"""Joining and splitting: cat, stack, split, chunk, unbind; meshgrid. Pieces of a split and
the grids of meshgrid are views."""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from .dims import numpy_kwargs, wrap_dim
from .out import with_out
from .shape import expand, narrow, reshape, select, unsqueeze


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


def cat(tensors, dim: int = 0, *, out=None, **kwargs) -> Tensor:
    """Join tensors along an existing dim (`axis=` is accepted for `dim=`, as in PyTorch)."""
    if out is not None:
        return with_out(cat, "cat", out, (tensors, dim), kwargs)
    from .promotion import result_dtype

    if kwargs:
        dim, _ = numpy_kwargs(kwargs, "cat", dim, None, 0)

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


def stack(tensors, dim: int = 0, *, out=None, **kwargs) -> Tensor:
    """Join tensors along a new dim."""
    if out is not None:
        return with_out(stack, "stack", out, (tensors, dim), kwargs)
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "stack", dim, None, 0)
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


def hstack(tensors, *, out=None):
    if out is not None:
        return with_out(hstack, "hstack", out, (tensors,))
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors, *, out=None):
    if out is not None:
        return with_out(vstack, "vstack", out, (tensors,))
    return cat([t if t.ndim > 1 else t.reshape(1, -1) for t in tensors], 0)


def row_stack(tensors, *, out=None):
    """vstack's other name."""
    return vstack(tensors, out=out)


def column_stack(tensors, *, out=None):
    """Stack 0-D and 1-D tensors as columns (n -> n x 1), and 2-D ones as they are, side by
    side."""
    if out is not None:
        return with_out(column_stack, "column_stack", out, (tensors,))
    cols = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)


def dstack(tensors, *, out=None):
    """Stack along a third dim: 1-D (n,) tensors become (1, n, 1), 2-D (m, n) ones (m, n, 1)."""
    if out is not None:
        return with_out(dstack, "dstack", out, (tensors,))
    from .layout import atleast_3d

    return cat(list(atleast_3d(*tensors)) if len(tensors) > 1 else [atleast_3d(tensors[0])], 2)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0):
    """Split into chunks of `split_size` (the last may be smaller) or into the given sizes."""
    if tensor._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
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


def chunk(input: Tensor, chunks: int, dim: int = 0, **kwargs):
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "chunk", dim, None, 0)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, input._data.ndim, "chunk")
    n = input._data.shape[d]
    size = -(-n // chunks) if n else 1
    return split(input, max(size, 1), d)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0, **kwargs):
    """`sections` parts of near-equal size (the first n % sections one longer), or the parts
    between the given indices (a list, tuple or 1-D integer tensor; out-of-range indices clamp,
    as in NumPy)."""
    if kwargs:  # axis=, sections=, indices=
        sections = kwargs.pop("sections", kwargs.pop("indices", None))
        if sections is not None:
            indices_or_sections = sections
        if kwargs:
            dim, _ = numpy_kwargs(kwargs, "tensor_split", dim, None, 0)
    if input._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, input._data.ndim, "tensor_split")
    n = input._data.shape[d]
    if isinstance(indices_or_sections, Tensor):
        if indices_or_sections.ndim == 0:
            indices_or_sections = int(indices_or_sections.item())
        else:
            indices_or_sections = [int(i) for i in indices_or_sections.tolist()]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        q, r = divmod(n, sections)
        return split(input, [q + 1] * r + [q] * (sections - r), d)
    # each part is input[prev:index] with Python's slice rules (negative indices count from
    # the end, an end before its start gives an empty part), the last one input[last:]
    bounds = [min(max(int(i) if i >= 0 else n + int(i), 0), n) for i in indices_or_sections]
    out, start = [], 0
    for end in bounds + [n]:
        out.append(narrow(input, d, start, max(end - start, 0)))
        start = end
    return tuple(out)


def _directional_split(input: Tensor, indices_or_sections, dim: int, name: str, min_dims: int):
    if input._data.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, "
                           f"but got a tensor with {input._data.ndim} dimensions!")
    if isinstance(indices_or_sections, (int, np.integer)):
        n = input._data.shape[dim]
        if indices_or_sections == 0 or n % int(indices_or_sections):
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {n} is not divisible by the split_size "
                               f"{indices_or_sections}!")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections):
    """Split along dim 1 (dim 0 for a 1-D tensor) into equal parts or at indices."""
    return _directional_split(input, indices_or_sections, 1 if input.ndim > 1 else 0,
                              "hsplit", 1)


def vsplit(input: Tensor, indices_or_sections):
    """Split along dim 0 (at least 2-D) into equal parts or at indices."""
    return _directional_split(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input: Tensor, indices_or_sections):
    """Split along dim 2 (at least 3-D) into equal parts or at indices."""
    return _directional_split(input, indices_or_sections, 2, "dsplit", 3)


def unbind(input: Tensor, dim: int = 0, **kwargs):
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "unbind", dim, None, 0)
    d = wrap_dim(dim, input._data.ndim, "unbind")
    return tuple(select(input, d, i) for i in range(input._data.shape[d]))


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 1-D (or 0-D) tensors: with N inputs of sizes s1..sN, N tensors of
    shape (s1, ..., sN) under indexing='ij' (the default), or (s2, s1, s3, ...) under 'xy'
    (Cartesian, as NumPy's default). The grids are expanded views of the inputs."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f"{indexing}")
    if not tensors:
        raise RuntimeError("torch.meshgrid: Expected at least one tensor in the tensor list")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid(): expected Tensors, got {type(t).__name__}")
        if t._data.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got a tensor of shape {tuple(t._data.shape)}")
        if t._data.dtype != tensors[0]._data.dtype or t._device != tensors[0]._device:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to have "
                               "the same dtype and device")
    ts = list(tensors)
    swap = indexing == "xy" and len(ts) > 1
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    sizes = [t._data.size for t in ts]
    grids = []
    for i, t in enumerate(ts):
        shape = [1] * len(ts)
        shape[i] = sizes[i]
        grids.append(expand(reshape(t, shape), sizes))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)
