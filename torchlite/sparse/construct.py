"""Building sparse tensors: sparse_coo_tensor, sparse_csr_tensor, spdiags.

The arguments are checked on the CPU every time (bounds, shapes, CSR order: a bad index would
otherwise write out of bounds later); on a GPU only with `check_invariants=True`, since reading
the indices back would wait for the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..ops.creation import tensor as _dense_tensor
from ..tensor import Tensor
from .convert import FromCSRValues, FromValues, _apply
from .storage import COO, CSR
from .tensor import SparseTensor


def _as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtype)
        return out if device is None else out.to(device)
    return _dense_tensor(data, dtype=dtype, device=device)


def _index_array(t: Tensor, what: str):
    arr = t._data
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{what} must be an int64 tensor, got {t.dtype}")
    return arr.astype(np.int64, copy=False)


def _finish(op_out: Tensor, requires_grad: bool) -> SparseTensor:
    if requires_grad:
        if op_out.grad_fn is not None:
            raise RuntimeError("sparse tensor: requires_grad=True needs values that are not part "
                               "of a graph (detach them first)")
        op_out.requires_grad_(True)
    return op_out


def sparse_coo_tensor(indices: Any, values: Any, size: Any = None, *, dtype: Any = None,
                      device: Any = None, requires_grad: bool = False,
                      check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> SparseTensor:
    """A sparse COO tensor with `values` (nnz, *dense_dims) at `indices` (sparse_dim, nnz).

    Shape: `size` = sparse sizes + dense sizes (inferred from the indices and values when None).
    Duplicate indices are allowed (they sum on coalesce). Differentiable in `values`.
    """
    ind = _as_tensor(indices, device=device)
    val = _as_tensor(values, dtype=dtype, device=device if device is not None else ind.device)
    if ind.device != val.device:
        ind = ind.to(val.device)
    idx = _index_array(ind, "indices")
    if idx.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    sd, nnz = idx.shape
    varr = val._data
    if varr.ndim == 0:
        raise RuntimeError("values must be at least 1-dimensional (nnz, *dense_dims)")
    if varr.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {varr.shape[0]}")
    dense_shape = tuple(varr.shape[1:])
    check = check_invariants or (check_invariants is None and val.device.type == "cpu")
    if size is None:
        host = backend.to_host(idx)
        sparse_shape = tuple(int(host[d].max()) + 1 if nnz else 0 for d in range(sd))
        shape = sparse_shape + dense_shape
    else:
        shape = tuple(int(s) for s in size)
        if len(shape) != sd + len(dense_shape):
            raise RuntimeError(
                f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
                f"{len(shape)}, sparse_dim = {sd}, dense_dim = {len(dense_shape)}")
        if tuple(shape[sd:]) != dense_shape:
            raise RuntimeError(f"values has incorrect size, expected {[nnz, *shape[sd:]]}, got "
                               f"{list(varr.shape)}")
        if any(s < 0 for s in shape):
            raise RuntimeError(f"sparse_coo_tensor: negative size in {list(shape)}")
        if check and nnz:
            host = backend.to_host(idx)
            lo, hi = host.min(axis=1), host.max(axis=1)
            for d in range(sd):
                if lo[d] < 0:
                    raise RuntimeError(f"found negative index {int(lo[d])} for dim {d}")
                if hi[d] >= shape[d]:
                    raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is "
                                       f"{shape[d]} but found index {int(hi[d])}")
    out = _apply(FromValues, val, idx, shape, bool(is_coalesced))
    return _finish(out, requires_grad)


def sparse_csr_tensor(crow_indices: Any, col_indices: Any, values: Any, size: Any = None, *,
                      dtype: Any = None, device: Any = None, requires_grad: bool = False,
                      check_invariants: bool | None = None) -> SparseTensor:
    """A 2-D compressed-sparse-row tensor (torchlite supports 2-D CSR without dense dims).

    Shape: (rows, cols); crow_indices (rows + 1,), col_indices and values (nnz,).
    """
    crow_t = _as_tensor(crow_indices, device=device)
    col_t = _as_tensor(col_indices, device=crow_t.device)
    val = _as_tensor(values, dtype=dtype, device=crow_t.device)
    crow = _index_array(crow_t, "crow_indices")
    col = _index_array(col_t, "col_indices")
    if crow.ndim != 1 or col.ndim != 1 or val._data.ndim != 1:
        raise RuntimeError("sparse_csr_tensor: torchlite supports 2-D CSR tensors: crow_indices, "
                           "col_indices and values must be 1-D")
    nnz = col.shape[0]
    if val._data.shape[0] != nnz:
        raise RuntimeError(f"col_indices and values must have the same number of elements, but "
                           f"got {nnz} and {val._data.shape[0]}")
    host_crow, host_col = backend.to_host(crow), backend.to_host(col)
    if size is None:
        shape = (crow.shape[0] - 1, int(host_col.max()) + 1 if nnz else 0)
    else:
        shape = tuple(int(s) for s in size)
        if len(shape) != 2:
            raise RuntimeError(f"sparse_csr_tensor: expected a 2-D size, got {list(shape)}")
    check = check_invariants or (check_invariants is None and val.device.type == "cpu")
    if crow.shape[0] != shape[0] + 1:
        raise RuntimeError(f"crow_indices must have nrows + 1 = {shape[0] + 1} elements, got "
                           f"{crow.shape[0]}")
    if check:
        if host_crow[0] != 0:
            raise RuntimeError("`crow_indices[..., 0] == 0` is not satisfied.")
        if host_crow[-1] != nnz:
            raise RuntimeError("`crow_indices[..., -1] == nnz` is not satisfied.")
        if np.any(np.diff(host_crow) < 0):
            raise RuntimeError("`0 <= crow_indices[..., 1:] - crow_indices[..., :-1] <= ncols` "
                               "is not satisfied.")
        if nnz and (host_col.min() < 0 or host_col.max() >= shape[1]):
            raise RuntimeError("`0 <= col_indices < ncols` is not satisfied.")
        step = np.diff(host_col)
        row_start = np.zeros(nnz, dtype=bool)
        row_start[host_crow[1:-1][host_crow[1:-1] < nnz]] = True
        if nnz > 1 and np.any((step <= 0) & ~row_start[1:]):
            raise RuntimeError(
                "`col_indices[..., crow_indices[..., i - 1]:crow_indices[..., i]] for all i = 1, "
                "..., nrows are sorted and distinct along the last dimension values` is not "
                "satisfied.")
    out = _apply(FromCSRValues, val, crow, col, shape)
    return _finish(out, requires_grad)


def spdiags(diagonals: Tensor, offsets: Tensor, shape: tuple[int, int],
            layout: Any = None) -> SparseTensor:
    """A 2-D sparse matrix with the rows of `diagonals` on the diagonals at `offsets`, as
    `torch.sparse.spdiags` (row i of `diagonals` gives element (j - offsets[i], j) at column j)."""
    from .layout import sparse_csr

    d = diagonals._data
    off = backend.to_host(offsets._data).reshape(-1)
    xp = backend.get_xp(d)
    if d.ndim == 1:
        d = d[None, :]
    if d.shape[0] != off.shape[0]:
        raise RuntimeError("Number of diagonals (" + str(d.shape[0]) + ") does not match the "
                           "number of offsets (" + str(off.shape[0]) + ")")
    if len(set(off.tolist())) != off.shape[0]:
        raise RuntimeError("Offset tensor contains duplicate values")
    rows, cols = int(shape[0]), int(shape[1])
    ri, ci, vals = [], [], []
    for k, o in enumerate(off.tolist()):
        start, stop = max(0, o), min(cols, rows + o, d.shape[1])
        if stop <= start:
            continue
        j = xp.arange(start, stop, dtype=xp.int64)
        ri.append(j - o)
        ci.append(j)
        vals.append(d[k, start:stop])
    if ri:
        idx = xp.stack([xp.concatenate(ri), xp.concatenate(ci)])
        v = xp.concatenate(vals)
    else:
        idx = xp.zeros((2, 0), dtype=xp.int64)
        v = xp.zeros((0,), dtype=d.dtype)
    out = sparse_coo_tensor(Tensor._make(idx, diagonals.device), Tensor._make(v, diagonals.device),
                            (rows, cols)).coalesce()
    return out.to_sparse_csr() if layout is sparse_csr else out


__all__ = ["sparse_coo_tensor", "sparse_csr_tensor", "spdiags", "COO", "CSR"]
