"""Dimension arguments: wrapping negative dims, PyTorch's NumPy-style `axis=`/`keepdims=`
aliases, and sizes given as f(2, 3) or f((2, 3)).

Imports nothing from torchlite, so that tensor.py (a floor below the ops) can use `wrap_dim`.
"""

from __future__ import annotations

import numpy as np


def wrap_dim(dim: int | np.integer, ndim: int, op: str) -> int:
    """`dim` as an index in [0, ndim) (a 0-d tensor takes dims -1 and 0, as in PyTorch)."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
            f"{dim})"
        )
    return int(dim) % n


def wrap_dims(dims, ndim: int, op: str):
    """Normalise `dim` (None, int or sequence) to a sorted tuple of axes, or None for all."""
    if dims is None:
        return None
    if isinstance(dims, (int, np.integer)):
        return (wrap_dim(dims, ndim, op),)
    out = tuple(sorted(wrap_dim(d, ndim, op) for d in dims))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {tuple(dims)} appears multiple times in the list of dims")
    return out


def reduced_dims(dims, ndim: int, op: str):
    """`wrap_dims` for a reduction: a 0-d tensor takes dims -1 and 0 (anything else is an
    IndexError, as in PyTorch) and reduces over all, None."""
    axes = wrap_dims(dims, ndim, op)
    return axes if ndim else None


def numpy_kwargs(kwargs: dict, op: str, dim, keepdim=None, default=None):
    """PyTorch's NumPy-style keyword aliases, `axis=` for `dim=` and `keepdims=` for `keepdim=`
    (as `x.max(axis=1)`, `x.mean(1, keepdims=True)`). Returns (dim, keepdim); any other keyword
    is a TypeError. Ops take them as **kwargs and call this only when some were given, so the
    usual call pays for one empty-dict test."""
    if "axis" in kwargs:
        if dim != default:
            raise TypeError(f"{op}() got multiple values for argument 'dim' (dim and axis)")
        dim = kwargs.pop("axis")
    if "keepdims" in kwargs and keepdim is not None:
        keepdim = kwargs.pop("keepdims")
    if kwargs:
        raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(kwargs))!r}")
    return dim, keepdim


def missing_dim(op: str):
    """The TypeError of an op whose `dim` is required (optional in the signature only so that
    `axis=` can stand for it)."""
    return TypeError(f"{op}() missing 1 required positional argument: 'dim'")


def shape_args(args, op: str):
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) for sizes (a one-element Tensor counts as its
    value)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            from ..tensor import Tensor  # (here: tensor.py imports this module)

            if not isinstance(a, Tensor):
                raise TypeError(f"{op}: sizes must be integers, got {a!r}")
            a = int(a.item())
        out.append(int(a))
    return tuple(out)
