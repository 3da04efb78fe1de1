"""float16 and bfloat16 ops computed in float32 on the CPU.

NumPy has no fast float16 kernels (its float16 matmul is ~30x slower than float32's and its
float16 sums accumulate in float16) and ml_dtypes' bfloat16 matmul returns float32. PyTorch's
CPU kernels accumulate low-precision products and reductions in float32; so do these: the
variant of an op made here upcasts NumPy float16/bfloat16 arrays to float32, runs the op's own
forward and backward, and rounds each result back to its input's dtype. CuPy arrays are left
alone (cuBLAS has float16 kernels with float32 accumulation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_F32 = FLOAT32 = np.dtype(np.float32)  # a singleton: callers test `dtype is FLOAT32` first


def is_half_numpy(arr: Any) -> bool:
    """A NumPy float16 or bfloat16 array ('e' is float16's type code, 'E' ml_dtypes' bfloat16)."""
    return type(arr) is np.ndarray and arr.dtype.char in "eE"


def _up(a: Any) -> Any:
    return widen(a) if is_half_numpy(a) else a


def widen(a: np.ndarray) -> np.ndarray:
    """A NumPy float16/bfloat16 array as float32."""
    if a.dtype.char == "E":  # bfloat16 is the top half of a float32: widening is a shift, exact
        out = a.view(np.uint16).astype(np.uint32)  # and ~7x faster than ml_dtypes' cast
        out <<= 16
        return out.view(_F32)
    return a.astype(_F32)


def _down(r: Any, dt: np.dtype) -> Any:
    if isinstance(r, (np.ndarray, np.generic)) and r.dtype == _F32 and dt is not None:
        return np.asarray(r).astype(dt)  # (a 1-D matmul gives a NumPy scalar)
    return r


_VARIANTS: dict[type, type] = {}


def in_float32(op: Any) -> Any:
    """The variant of Op class `op` that computes low-precision NumPy inputs in float32."""
    variant = _VARIANTS.get(op)
    if variant is not None:
        return variant

    def forward(ctx, *args: Any, **kwargs: Any) -> Any:
        dts = [a.dtype if is_half_numpy(a) else None for a in args]
        low = next(d for d in dts if d is not None)
        ctx._half_dtypes = dts
        out = op.forward(ctx, *[_up(a) for a in args], **kwargs)
        if isinstance(out, tuple):
            return tuple(_down(o, low) for o in out)
        return _down(out, low)

    def backward(ctx, *grads: Any) -> Any:
        res = op.backward(ctx, *[_up(g) for g in grads])
        if not isinstance(res, tuple):
            res = (res,)
        return tuple(_down(r, d) for r, d in zip(res, ctx._half_dtypes))

    variant = type(op.__name__, (op,), {"forward": staticmethod(forward),
                                         "backward": staticmethod(backward),
                                         "__module__": op.__module__,
                                         "__qualname__": op.__qualname__})
    _VARIANTS[op] = variant
    return variant
