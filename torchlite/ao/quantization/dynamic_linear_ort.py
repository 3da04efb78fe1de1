"""A whole dynamically quantized Linear as one onnxruntime run: the activations quantized, the
int8 product, and the float epilogue, with the layer's weight as a constant of the model.

Running the three steps as separate NumPy passes around a MatMulInteger model cost the layer
more than the product itself (784->512 at batch 128: about 100 us of 360 on one thread), and
fed the weight as an input, which onnxruntime re-packs on every run. Here the weight is an
initializer, packed once when the session is made, and the elementwise steps run in
onnxruntime's kernels on its intra-op threads. One session per layer and thread count, kept on
the layer's packed weight (int8_matmul.GemmWeight), so it goes when the weight changes.

The nodes do the float32-BLAS path's arithmetic in its order, each correctly rounded, so the
outputs are the same bits (tests/quantization/test_int8_gemm_ort.py compares them):

    t = X * inv_scale + zp               (two float32 roundings, as PyTorch's quantizer)
    A = QuantizeLinear(t, 1.0, 0)        (round half to even; t already lies in 0..qmax)
    Y = MatMulInteger(A, B, zp, B_zp)    (exact int32)
    Out = float(Y) * (x_scale * w_scale) + bias

onnxruntime's graph fusions stay off (basic level): a fused integer-matmul-to-float kernel may
round its epilogue differently.
"""

from __future__ import annotations

import os

import numpy as np

from ... import _ort_kernels as ok
from .int8_matmul import ZERO_POINTS

_OPSET = 13
_FLOAT, _UINT8 = ok.FLOAT, ok.UINT8
_OUT = ["Out"]


def model_bytes(b, b_zero_point, w_scale, bias) -> bytes:
    """The ModelProto of one layer: X float32 (M, K) -> Out float32 (M, N), given B (K, N) int8
    or uint8, its zero point(s) (1,) or (N,) of B's type, w_scale float32 (1,) or (N,), and
    bias float32 (N,) or None. Inputs besides X: inv_scale, zp_float, x_scale (float32
    scalars) and zp (uint8 (1,))."""
    k, n = b.shape
    nodes = [
        ok.node("Mul", ["X", "inv_scale"], ["scaled"]),
        ok.node("Add", ["scaled", "zp_float"], ["shifted"]),
        ok.node("QuantizeLinear", ["shifted", "one", "zero"], ["A"]),
        ok.node("MatMulInteger", ["A", "B", "zp", "B_zp"], ["Y"]),
        ok.node("Cast", ["Y"], ["Y_float"], to=_FLOAT),
        ok.node("Mul", ["x_scale", "w_scale"], ["out_scale"]),
        ok.node("Mul", ["Y_float", "out_scale"], ["Out" if bias is None else "unbiased"]),
    ]
    constants = [ok.tensor("one", np.ones((), np.float32)),
                 ok.tensor("zero", np.zeros((), np.uint8)), ok.tensor("B", b),
                 ok.tensor("B_zp", b_zero_point),
                 ok.tensor("w_scale", np.asarray(w_scale, np.float32).reshape(-1))]
    if bias is not None:
        nodes.append(ok.node("Add", ["unbiased", "bias"], ["Out"]))
        constants.append(ok.tensor("bias", np.asarray(bias, np.float32)))
    inputs = [("X", _FLOAT, ("M", k)), ("inv_scale", _FLOAT, ()), ("zp_float", _FLOAT, ()),
              ("x_scale", _FLOAT, ()), ("zp", _UINT8, (1,))]
    return ok.model_bytes(nodes, inputs, [("Out", _FLOAT, ("M", n))], "dynamic_linear", _OPSET,
                          constants)


def run(gemm, bias, x, inv_scale, zero_point: int, x_scale, threads: int):
    """Out (M, N) float32 for x float32 (M, K) C-contiguous whose quantized values
    rint(x * inv_scale + zero_point) all lie in the layer's activation range (the caller
    checks), x_scale the activation scale; the session of `gemm` (GemmWeight) made on first
    use for this process and thread count."""
    sessions = gemm.sessions
    key = (os.getpid(), threads)
    session = sessions.get(key)
    if session is None:
        data = None if bias is None else np.asarray(bias, np.float32)
        session = sessions[key] = ok.new_session(
            model_bytes(gemm.b, gemm.zero_point, gemm.scale, data), threads,
            spin_in_run=threads > 1, basic_optimizations=True)
    feeds = {"X": x, "inv_scale": np.array(inv_scale, np.float32),
             "zp_float": _ZP_FLOAT[zero_point], "x_scale": np.array(x_scale, np.float32),
             "zp": ZERO_POINTS[zero_point]}
    return session(_OUT, feeds)[0]


# the activation zero point as a float32 scalar, one read-only array per value (its uint8
# form is int8_matmul's)
_ZP_FLOAT = tuple(np.array(z, np.float32) for z in range(256))
for _z in _ZP_FLOAT:
    _z.flags.writeable = False
