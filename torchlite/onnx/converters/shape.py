"""Shape and indexing ops: reshape/view/flatten, permute, expand, basic and advanced indexing,
cat, flip, roll, pad, gather, triangles.

Sizes that follow a dynamic axis come from `OpCall.dims` as Syms: a reshape with one of them
writes -1 there (ONNX infers it), one with more builds its shape with Shape/Gather/Concat.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import to_host
from ..builder import INT64_MAX, Builder, Sym
from .dtypes import cast, np_dtype


def reshape(b: Builder, op: Any) -> str:
    dims = op.dims(1)
    syms = [i for i, d in enumerate(dims) if isinstance(d, Sym)]
    if len(syms) == 1:
        shape = b.ints([-1 if i == syms[0] else d for i, d in enumerate(dims)])
    else:
        shape = b.shape(dims)
    zero = any(d == 0 for d in dims if not isinstance(d, Sym))
    return b.node("Reshape", [op.input(0), shape], allowzero=1 if zero else None)


def permute(b: Builder, op: Any) -> str:
    return b.node("Transpose", [op.input(0)], perm=[int(a) for a in op.value(1)])


def expand(b: Builder, op: Any) -> str:
    return b.node("Expand", [op.input(0), b.shape(op.dims(1))])


def _full_key(key: tuple, ndim: int) -> list:
    """`key` with its Ellipsis spelled out as full slices (at most one Ellipsis)."""
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    out: list = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
            used = ndim  # a second Ellipsis expands to nothing
        else:
            out.append(k)
    return out


def _numbers(key: tuple) -> list[int]:
    """Every int in a basic-indexing key, in order (slices' start, stop, step)."""
    nums: list[int] = []
    for k in key:
        if isinstance(k, slice):
            nums.extend(int(v) for v in (k.start, k.stop, k.step) if v is not None)
        elif isinstance(k, (int, np.integer)):
            nums.append(int(k))
    return nums


def slice_(b: Builder, op: Any) -> str:
    x = op.array(0)
    key = op.args[1]
    op.value(lambda a, kw: [None if isinstance(k, (int, np.integer)) else
                            (k.start is None, k.stop is None, k.step is None)
                            if isinstance(k, slice) else repr(k) for k in a[1]])
    nums = op.dims(lambda a, kw: _numbers(a[1]))
    in_dims = op.in_dims(0)
    it = iter(nums)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    ax = out_pos = 0
    for k in _full_key(key, x.ndim):
        if k is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if isinstance(k, slice):
            start = next(it) if k.start is not None else None
            stop = next(it) if k.stop is not None else None
            step = next(it) if k.step is not None else 1
            if not (start in (None, 0) and stop is None and step == 1):
                if isinstance(stop, Sym) and stop == in_dims[ax]:
                    stop = None  # up to the end, whatever the size
                starts.append(0 if start is None else start)
                ends.append(INT64_MAX if stop is None else stop)
                axes.append(ax)
                steps.append(step)
            out_pos += 1
        else:
            i = next(it)
            starts.append(i)
            ends.append(INT64_MAX if i == -1 else (i + 1 if isinstance(i, int) else
                                                   Sym(i.label, i.k, i.c + 1)))
            axes.append(ax)
            steps.append(1)
            squeeze.append(ax)
        ax += 1
    y = op.input(0)
    if axes:
        y = b.node("Slice", [y, b.shape(starts), b.shape(ends), b.ints(axes), b.ints(steps)])
    if squeeze:
        y = b.node("Squeeze", [y, b.ints(squeeze)])
    if unsqueeze:
        y = b.node("Unsqueeze", [y, b.ints(unsqueeze)])
    if y == op.input(0):
        y = b.node("Identity", [y])
    return y


def adv_index(b: Builder, op: Any) -> str:
    x = op.array(0)
    key = _full_key(op.value(1), x.ndim)
    arrays = [i for i, k in enumerate(key) if hasattr(k, "dtype")]
    rest_full = all(isinstance(k, slice) and k == slice(None) for i, k in enumerate(key)
                    if i not in arrays)
    if len(arrays) != 1 or not rest_full or any(k is None for k in key):
        raise op.unsupported("only one integer index array with full slices elsewhere "
                             "(x[:, idx]) is exported")
    idx = to_host(key[arrays[0]])
    if idx.dtype.kind not in "iu":
        raise op.unsupported("boolean-mask indexing gives a data-dependent shape")
    return b.node("Gather", [op.input(0), b.const(idx.astype(np.int64), "index")],
                  axis=arrays[0])


def _index_input(b: Builder, op: Any, i: int) -> str:
    return cast(b, op.input(i), op.array(i).dtype, np.int64)


def index_select(b: Builder, op: Any) -> str:
    """IndexSelect and PadIndex: x.take(idx, axis)."""
    return b.node("Gather", [op.input(0), _index_input(b, op, 2)], axis=int(op.value(1)))


def gather(b: Builder, op: Any) -> str:
    return b.node("GatherElements", [op.input(0), _index_input(b, op, 2)],
                  axis=int(op.value(1)))


def cat(b: Builder, op: Any) -> str:
    axis, dt = int(op.value(0)), np_dtype(op.value(1))
    parts = [cast(b, op.input(i), op.array(i).dtype, dt) for i in range(2, len(op.args))]
    return b.node("Concat", parts, axis=axis)


def flip(b: Builder, op: Any) -> str:
    axes = [int(a) for a in op.value(1)]
    n = len(axes)
    return b.node("Slice", [op.input(0), b.ints([-1] * n), b.ints([-INT64_MAX - 1] * n),
                            b.ints(axes), b.ints([-1] * n)])


def roll(b: Builder, op: Any) -> str:
    shifts, axes = op.value(1), op.value(2)
    shifts = shifts if isinstance(shifts, tuple) else (shifts,)
    axes = axes if isinstance(axes, tuple) else (axes,)
    dims = op.in_dims(0)
    y = op.input(0)
    for s, a in zip(shifts, axes):
        n = dims[a]
        if not isinstance(n, int):
            raise op.unsupported("roll along a dynamic axis")
        s = int(s) % n if n else 0
        if s:
            tail = b.node("Slice", [y, b.ints([n - s]), b.ints([n]), b.ints([a])])
            head = b.node("Slice", [y, b.ints([0]), b.ints([n - s]), b.ints([a])])
            y = b.node("Concat", [tail, head], axis=a)
    return y if y != op.input(0) else b.node("Identity", [y])


def pad_constant(b: Builder, op: Any) -> str:
    widths = [(int(lo), int(hi)) for lo, hi in op.value(1)]
    x = op.array(0)
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    return b.node("Pad", [op.input(0), b.ints(pads), b.scalar(op.value(2), x.dtype)],
                  mode="constant")


def triangle(b: Builder, op: Any) -> str:
    return b.node("Trilu", [op.input(0), b.scalar(int(op.value(1)), np.int64)],
                  upper=0 if op.value(2) else 1)


def converters() -> dict[type, Any]:
    from ...ops import diagonal, indexing, join, pad, shape

    return {shape.Reshape: reshape, shape.Permute: permute, shape.Expand: expand,
            shape.Slice: slice_, shape.Flip: flip, shape.Roll: roll, join.Cat: cat,
            indexing.AdvIndex: adv_index, indexing.IndexSelect: index_select,
            indexing.Gather: gather, pad.PadConstant: pad_constant, pad.PadIndex: index_select,
            diagonal.Triangle: triangle}
