"""The layout methods of a dense Tensor: `layout`, `is_sparse`, and conversions to the sparse
layouts of torchlite.sparse (which overrides them in SparseTensor)."""

from __future__ import annotations

from typing import Any

from .tensor import Tensor


class SparseLayoutMethods:
    """Layout queries and conversions to and from sparse tensors."""

    __slots__ = ()

    @property
    def layout(self: Any) -> Any:
        from .sparse.layout import strided

        return strided

    @property
    def is_sparse(self: Any) -> bool:
        return False

    @property
    def is_sparse_csr(self: Any) -> bool:
        return False

    def to_dense(self: Any, dtype: Any = None, *, masked_grad: bool = True) -> Tensor:
        """This tensor (already dense), or a copy with `dtype`."""
        return self if dtype is None else self.to(dtype)

    def to_sparse(self: Any, sparse_dim: int | None = None, *, layout: Any = None) -> Any:
        """The nonzeros as a sparse COO tensor (over the first `sparse_dim` dims; the others
        stay dense in the values), or as CSR with `layout=torchlite.sparse_csr`."""
        from .sparse import convert
        from .sparse.layout import sparse_csr

        if layout is sparse_csr:
            return convert.to_csr(self)
        return convert.to_coo(self, sparse_dim)

    def to_sparse_coo(self: Any) -> Any:
        return self.to_sparse()

    def to_sparse_csr(self: Any, dense_dim: int | None = None) -> Any:
        """A 2-D tensor's nonzeros as a compressed-sparse-row tensor."""
        from .sparse import convert

        return convert.to_csr(self)
