"""NumPy dtypes as ONNX element types, and casting a value to the dtype an op computes in."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..builder import Builder


def np_dtype(dt: Any) -> np.dtype:
    """A NumPy dtype from a NumPy dtype, a scalar type or a torchlite dtype."""
    return np.dtype(getattr(dt, "np", dt))


def onnx_type(b: Builder, dt: Any) -> int:
    return b.onnx.helper.np_dtype_to_tensor_dtype(np_dtype(dt))


def cast(b: Builder, name: str, have: Any, want: Any) -> str:
    """`name` (of dtype `have`) as dtype `want`."""
    if np_dtype(have) == np_dtype(want):
        return name
    return b.node("Cast", [name], to=onnx_type(b, want))


def operand(b: Builder, op: Any, i: int, dt: Any) -> str:
    """Argument `i` of `op` in dtype `dt`: a tensor cast if needed, a Python number a 0-d
    constant."""
    from ..capture import Ref

    a = op.args[i]
    if isinstance(a, Ref):
        return cast(b, op.input(i), op.array(i).dtype, dt)
    return b.scalar(a, np_dtype(dt))
