"""bfloat16 tensors in safetensors files (dtype "BF16").

The safetensors library's NumPy API does not know ml_dtypes' bfloat16: save writes the arrays'
bytes under "BF16" itself (_safetensors_write.py); load views the raw little-endian 16-bit
words as bfloat16. Without ml_dtypes, BF16 reads as float32 (bfloat16 is the top half of a
float32, so that is exact).
"""

from __future__ import annotations

import numpy as np

from . import backend


def numpy_bfloat16() -> np.dtype | None:
    """ml_dtypes' bfloat16, or None when ml_dtypes is not installed."""
    try:
        return backend.bfloat16.np
    except TypeError:
        return None


def itemsize() -> int:
    """Bytes per BF16 element once loaded: 2 as bfloat16, 4 as the float32 fallback."""
    return 2 if numpy_bfloat16() is not None else 4


def read(data, t) -> np.ndarray:
    """The BF16 tensor `t` (begin, end, shape) of the data section `data`."""
    raw = np.frombuffer(data, dtype="<u2", count=(t.end - t.begin) // 2, offset=t.begin)
    bf16 = numpy_bfloat16()
    if bf16 is None:
        return (raw.astype(np.uint32) << 16).view(np.float32).reshape(t.shape)
    if not raw.flags.aligned or not raw.dtype.isnative:  # else a view of `data`, no copy
        raw = raw.astype(np.uint16)
    return raw.view(bf16).reshape(t.shape)
