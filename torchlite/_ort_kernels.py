"""onnxruntime as a library of CPU kernels: tiny ONNX models encoded here, one session each.

Some operations run several times faster on onnxruntime's kernels (MLAS) than on NumPy: the
int8 GEMM (ao/quantization/int8_gemm_ort.py) and the float16 casts (_half_cast.py). Each is a
model of one or two nodes, whose protobuf bytes `model_bytes` writes directly: importing the
`onnx` package to build them would cost most of a second. onnxruntime itself is imported on
the first `session` call, never by `import torchlite`.

Sessions are made once per process id (a forked child makes its own rather than use its
parent's), intra-op thread count and model key, under a lock, and shared by every thread:
onnxruntime documents `InferenceSession.run` as safe to call concurrently.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

# ONNX TensorProto.DataType codes
FLOAT, UINT8, INT8, INT32, FLOAT16, BFLOAT16 = 1, 2, 3, 6, 10, 16
IR_VERSION = 7  # read by every onnxruntime release since 1.6
MS_DOMAIN = "com.microsoft"  # onnxruntime's own operators (version 1)
_ATTR_INT = 2  # AttributeProto.AttributeType.INT

_lock = threading.Lock()
_sessions: dict = {}  # (pid, threads, model key) -> the session's run function
_ort: Any = None  # the onnxruntime module once imported; False when it failed to import

Run = Callable[[list, dict], list]


# -- the model's protobuf bytes -------------------------------------------------------------------
def _varint(n: int) -> bytes:
    if n < 0:
        raise ValueError("negative integers are not encoded here")
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


def _value_info(name: str, elem_type: int, dims: Sequence[int | str]) -> bytes:
    """ValueInfoProto: name, TypeProto.tensor_type(elem_type, shape); str dims are symbolic."""
    shape = b"".join(_bytes_field(1, _int_field(1, d) if isinstance(d, int) else
                                  _bytes_field(2, d)) for d in dims)
    tensor = _int_field(1, elem_type) + _bytes_field(2, shape)
    return _bytes_field(1, name) + _bytes_field(2, _bytes_field(1, tensor))


def node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str = "",
         domain: str = "", **attributes: int) -> bytes:
    """A NodeProto (as onnx.helper.make_node writes it), with integer attributes only; `domain`
    names an operator set other than the default one (say MS_DOMAIN, onnxruntime's own)."""
    out = b"".join(_bytes_field(1, n) for n in inputs)
    out += b"".join(_bytes_field(2, n) for n in outputs)
    if name:
        out += _bytes_field(3, name)
    out += _bytes_field(4, op_type)
    for key in sorted(attributes):
        attr = _bytes_field(1, key) + _int_field(3, attributes[key]) + _int_field(20, _ATTR_INT)
        out += _bytes_field(5, attr)
    if domain:
        out += _bytes_field(7, domain)
    return out


_ELEM_TYPES = {"float32": FLOAT, "uint8": UINT8, "int8": INT8, "int32": INT32,
               "float16": FLOAT16}


def tensor(name: str, array) -> bytes:
    """A TensorProto holding NumPy `array` (C order, raw little-endian bytes), as
    onnx.numpy_helper.from_array writes it: a model's constant (initializer)."""
    elem = _ELEM_TYPES.get(array.dtype.name)
    if elem is None or array.dtype.byteorder == ">":
        raise ValueError(f"no ONNX encoding here for arrays of {array.dtype}")
    out = b"".join(_int_field(1, d) for d in array.shape) + _int_field(2, elem)
    return out + _bytes_field(8, name) + _bytes_field(9, array.tobytes(order="C"))


def model_bytes(nodes: Sequence[bytes], inputs: Sequence[tuple], outputs: Sequence[tuple],
                graph_name: str, opset: int, initializers: Sequence[bytes] = (),
                ms_domain: bool = False) -> bytes:
    """A ModelProto of the default ONNX domain at `opset` (and of onnxruntime's MS_DOMAIN
    operators when `ms_domain`): `nodes` (from `node`) in order, the graph inputs and outputs
    given as (name, TensorProto data type code, dims), and the constants `initializers` (from
    `tensor`)."""
    graph = b"".join(_bytes_field(1, n) for n in nodes) + _bytes_field(2, graph_name)
    graph += b"".join(_bytes_field(5, t) for t in initializers)
    graph += b"".join(_bytes_field(11, _value_info(*v)) for v in inputs)
    graph += b"".join(_bytes_field(12, _value_info(*v)) for v in outputs)
    opsets = _bytes_field(8, _bytes_field(1, "") + _int_field(2, opset))
    if ms_domain:
        opsets += _bytes_field(8, _bytes_field(1, MS_DOMAIN) + _int_field(2, 1))
    return (_int_field(1, IR_VERSION) + _bytes_field(2, "torchlite") + _bytes_field(7, graph)
            + opsets)


# -- the choice of kernel, per use ----------------------------------------------------------------
class Switch:
    """Whether one use of these kernels ("auto": when onnxruntime imports) or its NumPy path
    ("numpy": A/B runs and tests) serves NumPy arrays; starts from environment variable
    `env_var`. Both give the same bits, so results never depend on the setting."""

    CHOICES = ("auto", "numpy")

    def __init__(self, setter: str, env_var: str) -> None:
        self.setter, self.env_var = setter, env_var
        value = os.environ.get(env_var, "auto").strip().lower() or "auto"
        if value not in self.CHOICES:
            warnings.warn(f"{env_var}={value!r} is not one of {self.CHOICES}; using 'auto'",
                          stacklevel=2)
            value = "auto"
        self.value = value

    def set(self, name: str) -> None:
        if name not in self.CHOICES:
            raise ValueError(f"{self.setter}: expected one of {self.CHOICES}, got {name!r}")
        self.value = name

    def enabled(self) -> bool:
        """Whether onnxruntime's kernel serves now (imports onnxruntime on the first call)."""
        return self.value != "numpy" and available()


# -- sessions -------------------------------------------------------------------------------------
def available() -> bool:
    """Whether onnxruntime imports (imported here on the first call, then remembered)."""
    global _ort
    if _ort is None:
        try:
            import onnxruntime
        except Exception:  # not installed, or a broken install: callers use their NumPy path
            _ort = False
        else:
            _ort = onnxruntime
    return _ort is not False


def session(key: object, build: Callable[[], bytes], threads: int) -> Run:
    """The run function `(output_names, feeds) -> outputs` of the session of the model that
    `build()` encodes, made on first use per process, `threads` (intra-op) and `key`. Raises
    RuntimeError when onnxruntime does not import."""
    full = (os.getpid(), threads, key)
    run = _sessions.get(full)
    if run is None:
        if not available():
            raise RuntimeError("this kernel needs onnxruntime (pip install 'torchlite[kernels]')")
        with _lock:
            run = _sessions.get(full)
            if run is None:
                run = _sessions[full] = new_session(build(), threads)
    return run


def new_session(model: bytes, threads: int, spin_in_run: bool = False,
                basic_optimizations: bool = False) -> Run:
    """The run function of a new session of `model`, for callers that cache it themselves (a
    model holding one layer's weights lives as long as the layer, not the process).

    Pool threads never spin between runs: spinning threads slowed whole trainings several
    times over on a busy 2-core machine (see torchlite._parallel). With `spin_in_run` they
    spin within a run, between its nodes, and stop when it ends (onnxruntime's
    force_spinning_stop): for models of several nodes, each of which would otherwise wake the
    sleeping pool again. `basic_optimizations` keeps onnxruntime from fusing nodes into
    kernels of other rounding (only constant folding and the like run)."""
    if not available():
        raise RuntimeError("this kernel needs onnxruntime (pip install 'torchlite[kernels]')")
    opts = _ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_in_run else "0")
    if spin_in_run:
        opts.add_session_config_entry("session.force_spinning_stop", "1")
    if basic_optimizations:
        opts.graph_optimization_level = _ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.log_severity_level = 3
    sess = _ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    # the binding's own run skips the wrapper's per-call input checks (about 5 us); callers
    # always feed exactly the model's inputs, as NumPy arrays of the declared types
    native = getattr(sess, "_sess", None)
    if native is None or not callable(getattr(native, "run", None)):
        return sess.run
    return lambda names, feeds: native.run(names, feeds, None)
