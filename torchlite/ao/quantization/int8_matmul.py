"""Exact integer matrix products on float32 BLAS, the engine of the quantized layers.

An int8 x int8 product is at most 2**15 in magnitude, and float32 holds every integer below
2**24 exactly, so `a @ b` of integer-valued float32 arrays is the exact int32 result while the
reduction is short enough that no partial sum reaches 2**24, whatever order BLAS adds in. Longer
reductions are split into chunks that stay below that bound and the chunk results are added in
float64 (exact for these sizes).
"""

from __future__ import annotations

import numpy as np

_EXACT = 2 ** 24


def chunk_length(max_a: int, max_b: int) -> int:
    """The longest reduction whose sums of |a| <= max_a times |b| <= max_b stay exact."""
    return max(1, (_EXACT - 1) // max(1, max_a * max_b))


def int_matmul(xp, a, b, max_a: int, max_b: int):
    """The exact product `a @ b` of integer-valued float32 arrays (a: (..., K), b: (K, N)),
    given bounds on their magnitudes; float32 when one BLAS call is exact, else float64."""
    k = a.shape[-1]
    step = chunk_length(max_a, max_b)
    if k <= step:
        return a @ b
    out = None
    for i in range(0, k, step):
        part = (a[..., i:i + step] @ b[i:i + step]).astype(np.float64)
        out = part if out is None else out + part
    return out
