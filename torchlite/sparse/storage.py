"""The arrays behind a sparse tensor: COO (indices + values) and CSR (crow, col, values).

A sparse Tensor's `_data` is one of these objects instead of an ndarray, so that autograd,
which moves raw arrays between nodes, moves sparse gradients the same way: they expose `shape`,
`dtype`, `ndim`, `size`, `copy()` and `+` (what the engine reads and does), and numpy defers to
their reflected operators (`dense + coo` gives a dense array; `coo + coo` concatenates, leaving
duplicates to a later coalesce, as PyTorch accumulates sparse gradients).

Everything here works on either array module (numpy or cupy); nothing imports scipy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..ops.scatter import add_at


class _SparseStorage:
    """What COO and CSR share: the array-like surface the autograd engine and Tensor read."""

    __slots__ = ()
    # numpy returns NotImplemented from its operators, so our reflected ones run
    __array_ufunc__ = None
    base = None  # never a view of another array (the engine asks)
    shape: tuple[int, ...]
    values: Any

    @property
    def tensor_class(self) -> type:
        """The Tensor class that wraps this storage (the autograd engine asks)."""
        from .tensor import SparseTensor

        return SparseTensor

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return self.values.itemsize

    @property
    def flags(self):
        raise RuntimeError("Sparse tensors do not have strides")

    def __array__(self, dtype: Any = None, copy: Any = None):
        raise TypeError(
            f"a sparse tensor ({self.layout_name}) is not a dense array: call .to_dense() first")

    def __radd__(self, other):
        return self.__add__(other)

    def __getattr__(self, name: str):
        # a dense op reached sparse storage (torchlite.exp(sparse), say): say so, not just
        # "'COO' object has no attribute ..." (an AttributeError still, for getattr defaults)
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"this operation is not supported for sparse tensors ({self.layout_name}): it needs "
            f"the dense array's '{name}'; use the sparse tensor's methods or torchlite.sparse "
            "functions, or .to_dense() first")


class COO(_SparseStorage):
    """indices: int64 (sparse_dim, nnz); values: (nnz, *dense_shape); shape: the full shape."""

    __slots__ = ("indices", "values", "shape", "coalesced")
    layout_name = "sparse_coo"

    def __init__(self, indices, values, shape, coalesced: bool = False) -> None:
        self.indices = indices
        self.values = values
        self.shape = tuple(int(s) for s in shape)
        self.coalesced = coalesced

    @property
    def sparse_dim(self) -> int:
        return int(self.indices.shape[0])

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[1])

    def copy(self) -> COO:
        return COO(self.indices.copy(), self.values.copy(), self.shape, self.coalesced)

    def astype(self, dtype, copy: bool = True) -> COO:
        return COO(self.indices, self.values.astype(dtype, copy=copy), self.shape,
                   self.coalesced)

    def __add__(self, other):
        if isinstance(other, CSR):
            other = other.to_coo()
        if isinstance(other, COO):
            if other.shape != self.shape or other.sparse_dim != self.sparse_dim:
                raise RuntimeError(
                    f"add: sparse tensors of sizes {list(self.shape)} and {list(other.shape)} "
                    f"(sparse dims {self.sparse_dim}, {other.sparse_dim}) do not match")
            xp = backend.get_xp(self.values)
            return COO(xp.concatenate([self.indices, other.indices], axis=1),
                       xp.concatenate([self.values, other.values.astype(self.dtype)]),
                       self.shape)
        return self.add_to_dense(other)

    def add_to_dense(self, dense):
        """dense + self, a new dense array (duplicates sum)."""
        xp = backend.get_xp(self.values)
        dense = xp.asarray(dense)
        out = xp.broadcast_to(dense, self.shape).astype(xp.result_type(dense, self.dtype))
        if self.nnz:
            add_at(out, tuple(self.indices), self.values)
        return out

    def to_dense(self):
        xp = backend.get_xp(self.values)
        out = xp.zeros(self.shape, dtype=self.dtype)
        if self.nnz:
            add_at(out, tuple(self.indices), self.values)
        return out


class CSR(_SparseStorage):
    """A 2-D compressed-row matrix: crow (rows + 1,), col (nnz,), values (nnz,)."""

    __slots__ = ("crow", "col", "values", "shape")
    layout_name = "sparse_csr"

    def __init__(self, crow, col, values, shape) -> None:
        self.crow = crow
        self.col = col
        self.values = values
        self.shape = tuple(int(s) for s in shape)

    @property
    def nnz(self) -> int:
        return int(self.col.shape[0])

    def copy(self) -> CSR:
        return CSR(self.crow.copy(), self.col.copy(), self.values.copy(), self.shape)

    def astype(self, dtype, copy: bool = True) -> CSR:
        return CSR(self.crow, self.col, self.values.astype(dtype, copy=copy), self.shape)

    def row_indices(self):
        """The row of every entry (searchsorted rather than repeat: CuPy's repeat takes no
        array of counts)."""
        xp = backend.get_xp(self.values)
        pos = xp.arange(self.nnz, dtype=xp.int64)
        return (xp.searchsorted(self.crow, pos, side="right") - 1).astype(xp.int64)

    def to_coo(self) -> COO:
        xp = backend.get_xp(self.values)
        idx = xp.stack([self.row_indices(), self.col.astype(xp.int64)])
        return COO(idx, self.values, self.shape, coalesced=True)

    def __add__(self, other):
        if isinstance(other, CSR):
            return self.to_coo() + other
        return self.to_coo().__add__(other)

    def to_dense(self):
        return self.to_coo().to_dense()
