"""Broadcasting: checking that shapes broadcast, and summing a gradient back to an input's
shape."""

from __future__ import annotations

import numpy as np


def broadcast_shapes(op: str, *shapes):
    """NumPy's broadcast_shapes, with PyTorch's RuntimeError naming the op and the shapes."""
    if len(shapes) == 2 and not (shapes[0] and shapes[1]):
        # a 0-d operand (a scalar parameter times a vector, say) broadcasts to anything, and
        # NumPy's function builds arrays to find that out (most of a small op's shape check)
        return tuple(shapes[0] or shapes[1])
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(
            f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast "
            "together"
        ) from None


def unbroadcast(g, shape, dtype=None):
    """Sum gradient `g` back to `shape` (undoing broadcasting) and cast it to `dtype`."""
    if g.shape != shape:
        # a NumPy array sums with add.reduce, what ndarray.sum calls after its Python wrapper
        nd = g.ndim - len(shape)
        if nd > 0:
            axis = tuple(range(nd))
            g = np.add.reduce(g, axis) if type(g) is np.ndarray else g.sum(axis=axis)
        axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
        if axes:
            g = np.add.reduce(g, axes, keepdims=True) if type(g) is np.ndarray \
                else g.sum(axis=axes, keepdims=True)
        if g.shape != shape:
            g = g.reshape(shape)
    if dtype is not None and g.dtype is not dtype and g.dtype != dtype:
        g = g.astype(dtype)
    return g
