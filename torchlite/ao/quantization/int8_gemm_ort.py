"""An exact int8 GEMM on onnxruntime's `MatMulInteger` (MLAS integer kernels), optional.

uint8 A (M, K) times int8 or uint8 B (K, N), minus zero points, gives the int32 product, with
the integer instructions PyTorch's fbgemm uses: several times faster than the same product on
float32 BLAS (int8_matmul's portable path). onnxruntime is imported on the first product, never
by `import torchlite`; the `onnx` package is not needed: the one-node model is encoded here.

Exactness: on x86 CPUs without VNNI, MLAS's uint8 x int8 kernel adds pairs of products in
saturating int16 (vpmaddubsw), which overflows once activations reach 255 against weights near
-128. With activations <= 127 (PyTorch's reduce_range, used by dynamic quantization) no pair
sum can reach 2**15 - 1, so uint8 x int8 is exact on every CPU. Full-range activations use the
uint8 x uint8 kernel instead (weights offset by 128), which widens to int16 before multiplying
and is exact everywhere. `int8_matmul` picks the form; this module only runs it.

One InferenceSession per process, thread count and weight type, created on first use with
torchlite's intra-op thread count (`torchlite.get_num_threads()`), except that products under
SERIAL_MACS multiply-adds run on one thread; the model encoder and the session cache are
torchlite._ort_kernels'.
"""

from __future__ import annotations

import numpy as np

from ... import _ort_kernels as ok
from ..._parallel import get_num_threads

_UINT8, _INT8, _INT32 = ok.UINT8, ok.INT8, ok.INT32
_OPSET = 10  # MatMulInteger's first (and current) version
_OUTPUTS = ["Y"]
# Products with fewer multiply-adds run on a one-thread session. Each product wakes
# onnxruntime's pool threads, which sleep between runs (no spinning, see _ort_kernels), and
# between the products of a layer stack they have slept through the NumPy work. Measured on a
# 2-core VM at 2 threads, per dynamically quantized Linear at batch 128 (quantization, product
# and epilogue, median us, one thread / two): 784->512 (51M) 371 / 343-351, 512->256 (17M)
# 158 / 223-225, 256->10 (0.3M) 48 / 88. The integers do not depend on the thread count.
SERIAL_MACS = 1 << 25


def available() -> bool:
    """Whether onnxruntime imports (imported on the first call, then remembered)."""
    return ok.available()


def model_bytes(weight_type: int) -> bytes:
    """A ModelProto with one MatMulInteger node: Y (M, N) int32 = (A - a_zp) @ (B - b_zp), A
    uint8 (M, K), B (K, N) of `weight_type` (ONNX code), a_zp uint8 (1,), b_zp (1,) or (N,)."""
    names = ("A", "B", "a_zero_point", "b_zero_point")
    inputs = [("A", _UINT8, ("M", "K")), ("B", weight_type, ("K", "N")),
              ("a_zero_point", _UINT8, (1,)), ("b_zero_point", weight_type, ("Z",))]
    return ok.model_bytes([ok.node("MatMulInteger", names, ["Y"], "matmul")], inputs,
                          [("Y", _INT32, ("M", "N"))], "int8_gemm", _OPSET)


def session(weight_dtype: np.dtype, threads: int | None = None):
    """The run function `(output_names, feeds) -> outputs` of the InferenceSession for weights
    of `weight_dtype` (int8 or uint8), created once per process and thread count."""
    if not ok.available():
        raise RuntimeError("the onnxruntime int8 kernel needs onnxruntime (pip install "
                           "'torchlite[onnx]')")
    n = get_num_threads() if threads is None else threads
    char = np.dtype(weight_dtype).char
    code = _INT8 if char == np.dtype(np.int8).char else _UINT8
    return ok.session(("int8_gemm", char), lambda: model_bytes(code), n)


def matmul_integer(a, a_zero_point, b, b_zero_point):
    """(a - a_zero_point) @ (b - b_zero_point) as int32, exactly (see the module docstring for
    when uint8 x int8 is exact). a: uint8 (M, K) C-contiguous; b: int8 or uint8 (K, N)
    C-contiguous; a_zero_point: uint8 (1,); b_zero_point: b's dtype, (1,) or (N,)."""
    feeds = {"A": a, "B": b, "a_zero_point": a_zero_point, "b_zero_point": b_zero_point}
    threads = 1 if a.shape[0] * a.shape[1] * b.shape[1] < SERIAL_MACS else None
    return session(b.dtype, threads)(_OUTPUTS, feeds)[0]
