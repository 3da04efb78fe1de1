"""Coalescing COO storage: sort entries by their indices and sum the duplicates.

Written over `xp` (numpy or cupy) rather than through scipy's `sum_duplicates`, because it has to
handle what scipy's matrices cannot: N-d sparse dims and hybrid values (nnz, *dense_dims), which
is the layout of an Embedding's gradient.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..ops.scatter import add_at
from .storage import COO


def linear_keys(indices, sizes):
    """One int64 key per entry: its row-major position over the sparse dims of size `sizes`."""
    xp = backend.get_xp(indices)
    keys = indices[0].astype(xp.int64, copy=True)
    for d in range(1, len(sizes)):
        keys *= int(sizes[d])
        keys += indices[d]
    return keys


def group(coo: COO):
    """(first, inverse): the position of each distinct index's first entry, in sorted order of
    the indices, and for every entry the number of its group."""
    xp = backend.get_xp(coo.values)
    keys = linear_keys(coo.indices, coo.shape[:coo.sparse_dim])
    _, first, inverse = xp.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def coalesce(coo: COO) -> COO:
    """The same tensor with sorted, distinct indices (duplicates summed), as `Tensor.coalesce`."""
    if coo.coalesced:
        return coo
    xp = backend.get_xp(coo.values)
    if coo.nnz == 0 or coo.sparse_dim == 0:
        if coo.sparse_dim == 0 and coo.nnz:
            vals = coo.values.sum(axis=0, keepdims=True)
            return COO(coo.indices[:, :1], vals, coo.shape, coalesced=True)
        return COO(coo.indices, coo.values, coo.shape, coalesced=True)
    first, inverse = group(coo)
    n = first.shape[0]
    if xp is np:  # entries grouped by a stable sort, each group summed in its original order
        order = np.argsort(inverse, kind="stable")
        counts = np.bincount(inverse, minlength=n)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        values = np.add.reduceat(coo.values[order], starts, axis=0)
    else:  # (CuPy has no reduceat: a scatter-add)
        values = xp.zeros((n,) + coo.values.shape[1:], dtype=coo.values.dtype)
        add_at(values, inverse, coo.values)
    return COO(coo.indices[:, first], values, coo.shape, coalesced=True)
