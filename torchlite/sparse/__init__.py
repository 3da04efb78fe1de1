"""Sparse tensors, as `torch.sparse`: COO and CSR layouts, sparse x dense products, reductions
and softmax with autograd, and sparse gradients (Embedding(sparse=True), SparseAdam).

Importing this package is cheap: only the layouts load with it, the rest on first use (so that
`import torchlite` stays fast), and scipy (the `sparse` extra) on the first kernel that needs
it (`backend.get_xsp`); cupyx.scipy.sparse stands in for it on a GPU.
"""

from __future__ import annotations

import importlib
from typing import Any

from .layout import layout, sparse_coo, sparse_csr, strided

# public name -> (submodule, name there)
_LAZY = {
    "SparseTensor": ("tensor", "SparseTensor"),
    "sparse_coo_tensor": ("construct", "sparse_coo_tensor"),
    "sparse_csr_tensor": ("construct", "sparse_csr_tensor"),
    "spdiags": ("construct", "spdiags"),
    "mm": ("matmul", "sparse_mm"),
    "addmm": ("matmul", "addmm"),
    "sum": ("reduce", "sum"),
    "softmax": ("reduce", "softmax"),
    "log_softmax": ("reduce", "log_softmax"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'torchlite.sparse' has no attribute {name!r}")


__all__ = ["SparseTensor", "addmm", "layout", "log_softmax", "mm", "softmax", "sparse_coo",
           "sparse_coo_tensor", "sparse_csr", "sparse_csr_tensor", "spdiags", "strided", "sum"]
