"""Shared fixtures for the sparse tests: small COO patterns (with and without duplicates) and a
gradcheck of a sparse op through its values."""

from __future__ import annotations

import numpy as np

import torchlite
from torchlite.autograd import gradcheck

# (indices, shape): a coalesced pattern, and one with a duplicated and unsorted entry
PATTERNS = {
    "coalesced": ([[0, 1, 1, 2], [2, 0, 2, 1]], (3, 3)),
    "duplicates": ([[2, 0, 1, 1, 0], [1, 2, 0, 2, 2]], (3, 3)),
}


def values64(n: int, seed: int = 0) -> torchlite.Tensor:
    rng = np.random.default_rng(seed)
    return torchlite.tensor(rng.standard_normal(n), dtype=torchlite.float64, requires_grad=True)


def check_through_values(op, pattern: str, *extra) -> None:
    """gradcheck `op(sparse, *extra)` in float64 as a function of the sparse tensor's values."""
    idx, shape = PATTERNS[pattern]
    ind = torchlite.tensor(idx)
    v = values64(len(idx[0]))

    def f(v, *rest):
        out = op(torchlite.sparse_coo_tensor(ind, v, shape), *rest)
        return out.to_dense() if out.is_sparse or out.is_sparse_csr else out

    assert gradcheck(f, (v, *extra))
