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
