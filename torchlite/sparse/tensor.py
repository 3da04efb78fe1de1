"""SparseTensor: a Tensor whose `_data` is COO or CSR storage (torchlite.sparse.storage).

A subclass, so that dense tensors pay nothing: the dense methods stay where they were, and the
ones a sparse tensor answers differently are overridden here. Python tries a subclass's reflected
operator first, so `dense + sparse` reaches `SparseTensor.__radd__` without the dense path
checking for it. The autograd engine moves the storage objects like arrays; `as_sparse` gives the
Tensors that wrap them (op outputs, gradients) this class.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Size, Tensor
from .layout import layout, sparse_coo, sparse_csr
from .storage import COO, CSR


def as_sparse(t: Any) -> Any:
    """`t` itself, re-classed as a SparseTensor when its data is sparse storage."""
    if isinstance(t, Tensor) and isinstance(t._data, (COO, CSR)):
        t.__class__ = SparseTensor
    return t


def _unsupported(name: str):
    def method(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"Could not run '{name}' with arguments from the '{self._backend_name()}' backend: "
            "it is not implemented for sparse tensors (call .to_dense() first)")

    method.__name__ = name
    return method


class SparseTensor(Tensor):
    """A sparse COO or CSR tensor, as a PyTorch tensor with layout torch.sparse_coo/sparse_csr.

    Build one with `torchlite.sparse_coo_tensor`, `torchlite.sparse_csr_tensor` or
    `Tensor.to_sparse()`; the kernels are scipy.sparse's (cupyx.scipy.sparse on a GPU).
    """

    __slots__ = ()
    _sparse_layout = True  # read by the autograd engine when it stores a gradient

    # -- layout and metadata ----------------------------------------------------------------------
    @property
    def layout(self) -> layout:
        return sparse_coo if isinstance(self._data, COO) else sparse_csr

    @property
    def is_sparse(self) -> bool:
        return isinstance(self._data, COO)

    @property
    def is_sparse_csr(self) -> bool:
        return isinstance(self._data, CSR)

    def _backend_name(self) -> str:
        kind = "Sparse" if isinstance(self._data, COO) else "SparseCsr"
        return kind + ("CPU" if self._device.type == "cpu" else "CUDA")

    def _coo(self, what: str) -> COO:
        if not isinstance(self._data, COO):
            raise RuntimeError(f"{what} expected sparse coordinate tensor layout but got "
                               f"{self.layout!r}")
        return self._data

    def _csr(self, what: str) -> CSR:
        if not isinstance(self._data, CSR):
            raise RuntimeError(f"{what} expected sparse row compressed tensor layout but got "
                               f"{self.layout!r}")
        return self._data

    def sparse_dim(self) -> int:
        return self._data.sparse_dim if isinstance(self._data, COO) else 2

    def dense_dim(self) -> int:
        return self._data.ndim - self.sparse_dim()

    def _nnz(self) -> int:
        return self._data.nnz

    def is_coalesced(self) -> bool:
        return self._coo("is_coalesced").coalesced

    def _coalesced_(self, coalesced: bool) -> SparseTensor:
        self._coo("_coalesced_").coalesced = bool(coalesced)
        return self

    def is_contiguous(self) -> bool:
        return False

    def stride(self, dim: int | None = None) -> Any:
        raise RuntimeError("Sparse tensors do not have strides")

    def data_ptr(self) -> int:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def numpy(self, force: bool = False) -> Any:
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def item(self) -> Any:
        return self.to_dense().item()

    def tolist(self) -> Any:
        raise NotImplementedError("tolist() is not implemented for sparse tensors: call "
                                  ".to_dense() first")

    # -- components -------------------------------------------------------------------------------
    def indices(self) -> Tensor:
        """The (sparse_dim, nnz) int64 indices of a coalesced COO tensor."""
        coo = self._coo("indices")
        if not coo.coalesced:
            raise RuntimeError(
                "Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return Tensor._make(coo.indices, self._device)

    def _indices(self) -> Tensor:
        return Tensor._make(self._coo("_indices").indices, self._device)

    def values(self) -> Tensor:
        """The values (nnz, *dense_dims); differentiable. COO tensors must be coalesced."""
        from .convert import values

        if isinstance(self._data, COO) and not self._data.coalesced:
            raise RuntimeError(
                "Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return values(self)

    def _values(self) -> Tensor:
        from .convert import values

        return values(self)

    def crow_indices(self) -> Tensor:
        return Tensor._make(self._csr("crow_indices").crow, self._device)

    def col_indices(self) -> Tensor:
        return Tensor._make(self._csr("col_indices").col, self._device)

    # -- conversions ------------------------------------------------------------------------------
    def coalesce(self) -> SparseTensor:
        from .convert import coalesce

        return coalesce(self)

    def to_dense(self, dtype: Any = None, *, masked_grad: bool = True) -> Tensor:
        from .convert import to_dense

        out = to_dense(self)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim: int | None = None, *, layout: Any = None) -> SparseTensor:
        from .convert import to_coo, to_csr

        if layout is sparse_csr:
            return to_csr(self)
        if isinstance(self._data, COO):
            if sparse_dim is not None and sparse_dim != self._data.sparse_dim:
                raise RuntimeError("to_sparse: conversion to a different sparse_dim is not "
                                   "supported")
            return self
        return to_coo(self)

    def to_sparse_coo(self) -> SparseTensor:
        return self.to_sparse()

    def to_sparse_csr(self, dense_dim: int | None = None) -> SparseTensor:
        from .convert import to_csr

        return self if isinstance(self._data, CSR) else to_csr(self)

    def detach(self) -> SparseTensor:
        t = as_sparse(Tensor._make(self._data, self._device))
        t._vbox = self._vbox
        return t

    @property
    def data(self) -> SparseTensor:
        return as_sparse(Tensor._make(self._data, self._device))

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data
        self._device = value._device

    def clone(self, *, memory_format: Any = None) -> SparseTensor:
        from .convert import clone

        return clone(self)

    def to(self, *args: Any, **kwargs: Any) -> SparseTensor:
        """A copy on another device and/or with another dtype (values only)."""
        from .convert import to

        return to(self, *args, **kwargs)

    def cpu(self) -> SparseTensor:
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> SparseTensor:
        return self.to(backend.device("cuda") if device is None else backend.device(
            "cuda", device) if isinstance(device, int) else device)

    def double(self) -> SparseTensor:
        return self.to(backend.float64)

    def float(self) -> SparseTensor:
        return self.to(backend.float32)

    def half(self) -> SparseTensor:
        return self.to(backend.float16)

    # -- math -------------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        from .elementwise import add

        return add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        from .elementwise import add

        return add(other, self)

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        from .elementwise import add

        return add(self, other, alpha=alpha)

    def __sub__(self, other: Any) -> Tensor:
        from .elementwise import add

        return add(self, other, alpha=-1)

    def __rsub__(self, other: Any) -> Tensor:
        from .elementwise import add

        return add(other, self, alpha=-1)

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        from .elementwise import add

        return add(self, other, alpha=-alpha)

    def __mul__(self, other: Any) -> Tensor:
        from .elementwise import mul

        return mul(self, other)

    __rmul__ = __mul__
    mul = __mul__

    def __truediv__(self, other: Any) -> Tensor:
        from .elementwise import div

        return div(self, other)

    div = __truediv__

    def __neg__(self) -> Tensor:
        from .elementwise import mul

        return mul(self, -1)

    neg = __neg__

    def __matmul__(self, other: Any) -> Tensor:
        from .matmul import mm

        return mm(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        from .matmul import mm

        return mm(other, self)

    def mm(self, other: Any) -> Tensor:
        from .matmul import mm

        return mm(self, other)

    matmul = mm

    def t(self) -> SparseTensor:
        from .shape import transpose

        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self._data.ndim}D")
        return transpose(self, 0, 1) if self._data.ndim == 2 else self

    def transpose(self, dim0: int, dim1: int) -> SparseTensor:
        from .shape import transpose

        return transpose(self, dim0, dim1)

    def index_select(self, dim: int, index: Tensor) -> SparseTensor:
        from .shape import index_select

        return index_select(self, dim, index)

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        from .reduce import sum as sparse_sum

        if keepdim:
            raise RuntimeError("sum: keepdim=True is not supported for sparse tensors")
        return sparse_sum(self, dim, dtype=dtype)

    def __getitem__(self, item: Any) -> Any:
        raise NotImplementedError(
            f"Could not run 'aten::index' with arguments from the '{self._backend_name()}' "
            "backend: indexing a sparse tensor is not supported (use index_select, or "
            ".to_dense() first)")

    def __setitem__(self, item: Any, value: Any) -> None:
        self.__getitem__(item)

    def __len__(self) -> int:
        return self._data.shape[0]

    def __iter__(self) -> Any:
        self.__getitem__(0)

    def __repr__(self) -> str:
        from .format import format_sparse

        return format_sparse(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)


# the dense math that has no sparse kernel: fail with PyTorch's kind of error, not deep in numpy
for _name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "pow",
              "mean", "max", "min", "prod", "reshape", "view", "flatten", "permute", "squeeze",
              "unsqueeze", "expand", "softmax", "log_softmax", "norm", "cumsum", "argmax",
              "__pow__", "__rtruediv__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__",
              "__ne__", "__abs__", "add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_",
              "__iadd__", "__isub__", "__imul__", "__itruediv__", "contiguous"):
    setattr(SparseTensor, _name, _unsupported(f"aten::{_name.strip('_')}"))
del _name

__all__ = ["SparseTensor", "as_sparse", "Size"]
