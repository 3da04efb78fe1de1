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
torchlite's intra-op thread count (`torchlite.get_num_threads()`).
"""

from __future__ import annotations

import os
import threading

import numpy as np

from ..._parallel import get_num_threads

# ONNX TensorProto.DataType codes
_UINT8, _INT8, _INT32 = 2, 3, 6
_OPSET = 10  # MatMulInteger's first (and current) version
_IR_VERSION = 7
_OUTPUTS = ["Y"]

_lock = threading.Lock()
_sessions: dict = {}  # (pid, threads, weight dtype char) -> the session's run
_ort = None  # the onnxruntime module once imported; False when it failed to import


# -- the model's protobuf bytes -------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _int_field(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes_field(field: int, data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return _varint(field << 3 | 2) + _varint(len(raw)) + raw


def _value_info(name: str, elem_type: int, dims: tuple) -> bytes:
    """ValueInfoProto: name, TypeProto.tensor_type(elem_type, shape); str dims are symbolic."""
    shape = b"".join(_bytes_field(1, _int_field(1, d) if isinstance(d, int) else
                                  _bytes_field(2, d)) for d in dims)
    tensor = _int_field(1, elem_type) + _bytes_field(2, shape)
    return _bytes_field(1, name) + _bytes_field(2, _bytes_field(1, tensor))


def model_bytes(weight_type: int) -> bytes:
    """A ModelProto with one MatMulInteger node: Y (M, N) int32 = (A - a_zp) @ (B - b_zp), A
    uint8 (M, K), B (K, N) of `weight_type` (ONNX code), a_zp uint8 (1,), b_zp (1,) or (N,)."""
    names = ("A", "B", "a_zero_point", "b_zero_point")
    node = b"".join(_bytes_field(1, n) for n in names) + _bytes_field(2, "Y")
    node += _bytes_field(3, "matmul") + _bytes_field(4, "MatMulInteger")
    graph = _bytes_field(1, node) + _bytes_field(2, "int8_gemm")
    graph += _bytes_field(11, _value_info("A", _UINT8, ("M", "K")))
    graph += _bytes_field(11, _value_info("B", weight_type, ("K", "N")))
    graph += _bytes_field(11, _value_info("a_zero_point", _UINT8, (1,)))
    graph += _bytes_field(11, _value_info("b_zero_point", weight_type, ("Z",)))
    graph += _bytes_field(12, _value_info("Y", _INT32, ("M", "N")))
    opset = _bytes_field(1, "") + _int_field(2, _OPSET)
    return (_int_field(1, _IR_VERSION) + _bytes_field(2, "torchlite") + _bytes_field(7, graph)
            + _bytes_field(8, opset))


# -- sessions -------------------------------------------------------------------------------------
def available() -> bool:
    """Whether onnxruntime imports (imported here on the first call, then remembered)."""
    global _ort
    if _ort is None:
        try:
            import onnxruntime
        except Exception:  # not installed, or a broken install: the float32 path serves
            _ort = False
        else:
            _ort = onnxruntime
    return _ort is not False


def session(weight_dtype: np.dtype, threads: int | None = None):
    """The run function `(output_names, feeds) -> outputs` of the InferenceSession for weights
    of `weight_dtype` (int8 or uint8), created once per process and thread count."""
    if not available():
        raise RuntimeError("the onnxruntime int8 kernel needs onnxruntime (pip install "
                           "'torchlite[onnx]')")
    n = get_num_threads() if threads is None else threads
    key = (os.getpid(), n, np.dtype(weight_dtype).char)
    sess = _sessions.get(key)
    if sess is None:
        with _lock:
            sess = _sessions.get(key)
            if sess is None:
                sess = _sessions[key] = _new_session(np.dtype(weight_dtype), n)
    return sess


def _new_session(weight_dtype: np.dtype, threads: int):
    opts = _ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # idle pool threads sleep instead of spinning: spinning threads slowed whole trainings
    # several times over on a busy 2-core machine (see torchlite._parallel)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    code = _INT8 if weight_dtype == np.int8 else _UINT8
    sess = _ort.InferenceSession(model_bytes(code), opts, providers=["CPUExecutionProvider"])
    # the binding's own run skips the wrapper's per-call input checks (about 5 us of the
    # smallest layers' 40); the feeds are always the four arrays named above
    native = getattr(sess, "_sess", None)
    if native is None or not callable(getattr(native, "run", None)):
        return sess.run
    return lambda names, feeds: native.run(names, feeds, None)


def matmul_integer(a, a_zero_point, b, b_zero_point):
    """(a - a_zero_point) @ (b - b_zero_point) as int32, exactly (see the module docstring for
    when uint8 x int8 is exact). a: uint8 (M, K) C-contiguous; b: int8 or uint8 (K, N)
    C-contiguous; a_zero_point: uint8 (1,); b_zero_point: b's dtype, (1,) or (N,)."""
    feeds = {"A": a, "B": b, "a_zero_point": a_zero_point, "b_zero_point": b_zero_point}
    return session(b.dtype)(_OUTPUTS, feeds)[0]
