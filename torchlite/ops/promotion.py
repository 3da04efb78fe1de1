"""PyTorch's type promotion: the result dtype of an op over Tensors and Python scalars, and how
a non-Tensor operand enters it."""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor


def dtype_category(dt) -> int:
    """bool < integer < float: a higher category wins promotion whatever the bit width."""
    k = dt.kind
    return 0 if k == "b" else 1 if k in "iu" else 2


def _scalar_category(s) -> int:
    if isinstance(s, (bool, np.bool_)):
        return 0
    if isinstance(s, (numbers.Integral,)):
        return 1
    if isinstance(s, numbers.Real):
        return 2
    raise TypeError(f"unsupported operand type {type(s).__name__}")


def result_dtype(*operands):
    """The NumPy dtype PyTorch's promotion rules give for these Tensors and Python scalars.

    Dimensioned tensors decide; a 0-d tensor or a scalar only matters when it is of a higher
    category (bool < integer < float). A float scalar lifts integer tensors to the default float
    dtype, never to float64, and a NumPy scalar counts as a Python scalar.
    """
    if len(operands) == 2 and isinstance(operands[0], Tensor):  # fast paths for the common cases
        dt, b = operands[0]._data.dtype, operands[1]
        if isinstance(b, Tensor):
            if b._data.dtype == dt:
                return dt
        elif type(b) is float or isinstance(b, np.float64):  # a float scalar keeps a float dtype
            if dt.kind in "fV":
                return dt
        elif type(b) is int and dt.kind in "fiu":
            return dt
    dims, zeros, scalars = [], [], []
    for x in operands:
        if isinstance(x, Tensor):
            (dims if x._data.ndim else zeros).append(x._data.dtype)
        else:
            scalars.append(x)
    r = promote_dtypes(dims) if dims else (promote_dtypes(zeros) if zeros else None)
    if dims and zeros:
        zc = max(dtype_category(z) for z in zeros)
        if zc > dtype_category(r):
            r = promote_dtypes([z for z in zeros if dtype_category(z) == zc])
    for s in scalars:
        sc = _scalar_category(s)
        if r is None or sc > dtype_category(r):
            r = _DEFAULT_FOR[sc]()
    return r


_DEFAULT_FOR = {
    0: lambda: np.dtype(np.bool_),
    1: lambda: np.dtype(np.int64),
    2: lambda: backend.get_default_dtype().np,
}


def promote_dtypes(dtypes):
    """The promoted dtype of tensors' dtypes: the highest category, widest within it."""
    top = max(dtype_category(d) for d in dtypes)
    same = [d for d in dtypes if dtype_category(d) == top]
    return np.result_type(*same) if len(same) > 1 else same[0]


def scalar(s):
    """A Python number for NumPy (NumPy scalars would promote float32 arrays under NEP 50)."""
    if isinstance(s, np.generic):
        return s.item()
    return s


def as_tensor_arg(x, like: Tensor, op: str = "operation"):
    """Wrap a non-Tensor array-like argument as a Tensor on `like`'s device."""
    if isinstance(x, Tensor):
        return x
    xp = backend.xp_for(like._device)
    arr = xp.asarray(x)
    if arr.dtype.kind not in "biufV":
        raise TypeError(f"{op}: unsupported operand type {type(x).__name__}")
    if arr.dtype == np.float64 and not isinstance(x, np.ndarray):
        arr = arr.astype(backend.get_default_dtype().np)
    return Tensor._make(arr, like._device)
