"""Tensor layouts, as `torch.strided`, `torch.sparse_coo` and `torch.sparse_csr`."""

from __future__ import annotations


class layout:  # noqa: N801 - PyTorch's class name
    """How a tensor's elements are stored (dense strided, or a sparse format)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"  # as PyTorch prints it

    def __reduce__(self):  # layouts are singletons, even through copy/deepcopy
        return _BY_NAME.__getitem__, (self.name,)


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
_BY_NAME = {"strided": strided, "sparse_coo": sparse_coo, "sparse_csr": sparse_csr}
