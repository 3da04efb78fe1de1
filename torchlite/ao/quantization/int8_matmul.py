"""Exact integer matrix products, the engine of the quantized layers: on float32 BLAS (any
device), or on onnxruntime's integer GEMM (CPU, when onnxruntime is installed; see
int8_gemm_ort), chosen here (`set_int8_kernel`, env TORCHLITE_INT8_KERNEL). Both paths give
the same integers, so outputs never depend on the choice.

An int8 x int8 product is at most 2**15 in magnitude, and float32 holds every integer below
2**24 exactly, so `a @ b` of integer-valued float32 arrays is the exact int32 result while the
reduction is short enough that no partial sum reaches 2**24, whatever order BLAS adds in. Longer
reductions are split into chunks that stay below that bound and the chunk results are added in
float64 (exact for these sizes).
"""

from __future__ import annotations

import numpy as np

from ..._ort_kernels import Switch

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


# -- the kernel choice ----------------------------------------------------------------------------
# "auto": onnxruntime's integer GEMM for NumPy arrays when onnxruntime imports, float32 BLAS
# otherwise (and always for CuPy); "numpy": always float32 BLAS (for A/B runs and tests). Both
# give the same integers, so a model's outputs do not depend on the choice.
_switch = Switch("set_int8_kernel", "TORCHLITE_INT8_KERNEL")
ENV_VAR = _switch.env_var


def set_int8_kernel(name: str) -> None:
    """Choose how int8 products run on the CPU: "auto" (onnxruntime's integer GEMM when it is
    installed, else float32 BLAS) or "numpy" (float32 BLAS). Results are identical."""
    _switch.set(name)


def get_int8_kernel() -> str:
    """The setting of `set_int8_kernel` ("auto" or "numpy")."""
    return _switch.value


_gemm = None  # int8_gemm_ort once onnxruntime imported; False when it does not


def _gemm_module():
    global _gemm
    if _gemm is None:
        from . import int8_gemm_ort

        _gemm = int8_gemm_ort if int8_gemm_ort.available() else False
    return _gemm


def use_integer_gemm(xp) -> bool:
    """Whether an int8 product over arrays of module `xp` runs on onnxruntime's integer GEMM."""
    return xp is np and _switch.value != "numpy" and _gemm_module() is not False


def kernel_name(xp=np) -> str:
    """What runs the int8 products for arrays of module `xp`, for reports and benchmarks."""
    if use_integer_gemm(xp):
        return "onnxruntime MatMulInteger"
    return "float32 BLAS" if xp is np else "float32 cuBLAS"


class GemmWeight:
    """A quantized weight (N, K) pre-packed once for the integer GEMM: B = W.T (K, N) as int8
    (for activations <= 127) or as uint8 offset by 128 (full-range activations, whose uint8 x
    int8 pair sums could saturate on CPUs without VNNI), with its zero points; int8-sized, no
    float copy. Built from NumPy arrays only. `sessions` holds the whole-layer onnxruntime
    sessions made from it (dynamic_linear_ort), dropped with it."""

    __slots__ = ("b", "scale", "zero_point", "sessions")

    def __init__(self, w, zero_points, full_range: bool) -> None:
        zp = np.asarray(zero_points, np.int64).reshape(-1)
        if zp.size > 1 and bool((zp == zp[0]).all()):
            zp = zp[:1]
        if w.dtype == np.uint8:
            b, b_zp = w.T, zp
        elif full_range:
            b, b_zp = w.T.astype(np.int16) + 128, zp + 128
        else:
            b, b_zp = w.T, zp
        dtype = np.int8 if w.dtype == np.int8 and not full_range else np.uint8
        self.b = np.ascontiguousarray(b, dtype=dtype)
        self.zero_point = b_zp.astype(dtype)
        self.scale = None  # the weight's float32 scale(s), for the layer that owns it
        self.sessions: dict = {}

    def matmul(self, a, a_zero_point: int):
        """(a - a_zero_point) @ (W - zero_point).T as int32; a: uint8 (M, K) C-contiguous.
        Needs onnxruntime (see `use_integer_gemm`)."""
        gemm = _gemm or _gemm_module()
        if gemm is False:
            raise RuntimeError("GemmWeight.matmul needs onnxruntime (pip install "
                               "'torchlite[onnx]')")
        return gemm.matmul_integer(a, ZERO_POINTS[a_zero_point], self.b, self.zero_point)


# the activation zero point as onnxruntime reads it, one read-only array per value (also fed
# by dynamic_linear_ort)
ZERO_POINTS = tuple(np.full(1, z, np.uint8) for z in range(256))
for _z in ZERO_POINTS:
    _z.flags.writeable = False
