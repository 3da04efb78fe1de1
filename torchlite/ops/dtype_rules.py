"""PyTorch's dtype questions: promote_types, result_type and can_cast."""

from __future__ import annotations

import numbers

from .. import backend
from ..tensor import Tensor
from .promotion import dtype_category, promote_dtypes, result_dtype


def promote_types(type1, type2) -> backend.dtype:
    """The dtype both promote to: the higher of bool < integer < float, the wider within it."""
    a, b = backend.to_dtype(type1).np, backend.to_dtype(type2).np
    return backend.to_dtype(promote_dtypes([a, b]))


def result_type(tensor1, tensor2) -> backend.dtype:
    """The dtype of an arithmetic op on these tensors or numbers (PyTorch's promotion, where a
    number or a 0-d tensor only matters through its category)."""
    ops = [t for t in (tensor1, tensor2)]
    if not any(isinstance(t, Tensor) for t in ops):
        from .creation import tensor

        ops = [tensor(t) if isinstance(t, numbers.Number) else t for t in ops]
    return backend.to_dtype(result_dtype(*ops))


def can_cast(from_, to) -> bool:
    """Whether PyTorch's casting rules allow `from_` into `to`: never down a category (float
    to integer, integer to bool), any width within one."""
    return dtype_category(backend.to_dtype(from_).np) <= dtype_category(backend.to_dtype(to).np)
