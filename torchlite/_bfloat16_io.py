"""bfloat16 tensors in safetensors files (dtype "BF16").

The safetensors library's NumPy API does not know ml_dtypes' bfloat16: save hands it the same
bits as uint16 and then retags those entries "BF16" in the header it wrote; load views the raw
little-endian 16-bit words as bfloat16. Without ml_dtypes, BF16 reads as float32 (bfloat16 is
the top half of a float32, so that is exact).
"""

from __future__ import annotations

import json

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


def for_library(name: str, arr: np.ndarray, retag: set) -> np.ndarray:
    """`arr` as the library can write it: a bfloat16 array as its uint16 bits (noted in
    `retag`), anything else unchanged."""
    if arr.dtype.kind == "V":
        retag.add(name)
        return arr.view(np.uint16)
    return arr


def retag_header(blob, names: set) -> bytes:
    """The file `blob` (as the library wrote it) with tensors `names` marked BF16 instead of
    U16. The header is re-laid with the library's padding (spaces to a multiple of 8 bytes);
    the data section and its offsets do not change."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(bytes(blob[8:8 + n]))
    for name in names:
        header[name]["dtype"] = "BF16"
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + bytes(blob[8 + n:])
