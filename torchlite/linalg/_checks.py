"""The argument checks torch.linalg's functions share, with PyTorch's messages."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_matrix(A, op: str, square: bool = True) -> None:
    """A float32/float64 Tensor of at least 2 dims (square in its last two when `square`)."""
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if A._data.dtype not in _FLOATS:
        name = scalar_type_name(A.dtype)
        if A.is_floating_point():
            raise RuntimeError(f"{op}: Low precision dtypes not supported. Got {name}")
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got "
                           f"{name}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


# PyTorch's C++ scalar type names, which its linalg messages print
_SCALAR_NAMES = {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
                 "float64": "Double", "int8": "Char", "uint8": "Byte", "int16": "Short",
                 "int32": "Int", "int64": "Long", "bool": "Bool"}


def scalar_type_name(dtype) -> str:
    short = str(dtype).rsplit(".", 1)[-1]
    return _SCALAR_NAMES.get(short, short)
