"""Structured arrays built from pieces: block_diag, diag_embed, cartesian_prod, and the index
lists tril_indices / triu_indices."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from .creation import eye, tensor
from .join import cat, meshgrid, stack
from .pad import pad
from .promotion import result_dtype


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-d as one row, or 2-d) as the blocks of a block-diagonal matrix."""
    blocks = [t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t
              for t in tensors]
    if any(b.ndim != 2 for b in blocks):
        raise RuntimeError("torch.block_diag: Input tensors must have 2 or fewer dimensions.")
    if not blocks:
        return tensor(np.zeros((1, 0)))
    dt = result_dtype(*blocks)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        rows.append(pad(b.to(backend.to_dtype(dt)), (left, width - left - b.shape[1])))
        left += b.shape[1]
    return cat(rows, 0)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (on dims dim1, dim2) with input's last dim on their `offset` diagonal.

    Shape: (..., n) -> (..., n + |offset|, n + |offset|) for the default dims.
    """
    n = input.shape[-1]
    out = input.unsqueeze(-1) * eye(n, dtype=input.dtype, device=input.device)
    if offset:
        k = abs(offset)
        out = pad(out, (k, 0, 0, k) if offset > 0 else (0, k, k, 0))
    nd = out.ndim
    d1, d2 = dim1 % nd, dim2 % nd
    if (d1, d2) != (nd - 2, nd - 1):
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        out = out.movedim((nd - 2, nd - 1), (d1, d2))
    return out


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-D tensor, as rows (a 1-D input comes back
    as it is)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def _indices(fn, row: int, col: int, offset: int, dtype, device) -> Tensor:
    r, c = fn(row, offset, col)
    return tensor(np.stack([r, c]).astype(np.int64).reshape(2, -1),
                  dtype=dtype or backend.int64, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """(2, N) row and column indices of the lower triangle (diagonal `offset` and below)."""
    return _indices(np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """(2, N) row and column indices of the upper triangle (diagonal `offset` and above)."""
    return _indices(np.triu_indices, row, col, offset, dtype, device)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of 1-D x: columns x^(N-1), ..., x^0 (reversed with
    increasing=True); N defaults to len(x). Integer and bool inputs give int64."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    import torchlite

    base = x if x.is_floating_point() else x.to(torchlite.int64)
    powers = torchlite.arange(n, device=x.device)
    if not increasing:
        powers = powers.flip(0)
    if n == 0:
        return base.reshape(-1, 1)[:, :0]
    return base.unsqueeze(1) ** powers.to(base.dtype).unsqueeze(0) if base.is_floating_point() \
        else base.unsqueeze(1) ** powers.unsqueeze(0)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """input flattened onto the `offset` diagonal of a square matrix."""
    return diag_embed(input.reshape(-1), offset)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The r-length combinations of the 1-D input's elements, as rows (itertools order)."""
    import itertools

    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    n = input.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = list(pick(range(n), r))
    if r == 0:
        return input[:0]
    if not rows:
        return input.new_empty((0, r))
    index = tensor(np.array(rows, dtype=np.int64).reshape(-1), device=input.device)
    return input[index].reshape(len(rows), r)


def unravel_index(indices, shape):
    """The coordinates of flat `indices` in an array of `shape`: a tuple of int64 tensors, one
    per dim (as numpy.unravel_index)."""
    import torchlite

    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("unravel_index: 'shape' cannot have negative values, but got "
                         f"{shape}")
    idx = indices if isinstance(indices, Tensor) else torchlite.tensor(indices)
    if idx.is_floating_point() or idx.dtype == torchlite.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {idx.dtype}")
    size = int(np.prod(shape)) if shape else 1
    if idx.numel() and (int(idx.min()) < -size or int(idx.max()) >= size):
        raise ValueError(f"unravel_index: 'indices' must be in range [-{size}, {size}), but "
                         "got values outside it")
    flat = idx.to(torchlite.int64) % max(size, 1)
    out = []
    for s in reversed(shape):
        out.append(flat % s if s else flat * 0)
        flat = flat // s if s else flat
    return tuple(reversed(out))
