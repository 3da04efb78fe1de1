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
        if A.is_floating_point():
            raise RuntimeError(f"{op}: Low precision dtypes not supported. Got {A.dtype}")
        raise RuntimeError(f"{op}: Expected a floating point tensor as input. Got {A.dtype}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
