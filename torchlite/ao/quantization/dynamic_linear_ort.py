"""Dynamically quantized Linear layers as one onnxruntime run each: the activations quantized,
the int8 product and the float epilogue, with the layers' weights as constants of the model.
A run of such layers with a ReLU after each but the last (the body of an MLP in a Sequential)
runs as one model too, in one session call.

Running the steps as separate NumPy passes around a MatMulInteger model cost a layer more
than the product itself (784->512 at batch 128: about 100 us of 360 on one thread), and fed
the weight as an input, which onnxruntime re-packs on every run. Here each weight is an
initializer, packed once when the session is made, and the elementwise steps run in
onnxruntime's kernels on its intra-op threads. One call for a whole chain wakes the pool once
(a sleeping pool costs tens of microseconds a wake-up on a virtual machine, more right after
a pause) and keeps the ReLUs and the per-layer ranges off the Python side. Sessions are kept
on the first layer's packed weight (int8_matmul.GemmWeight), so they go when it changes.

The nodes do the float32-BLAS path's arithmetic in its order, each correctly rounded, so the
outputs are the same bits (tests/quantization/ compares them). The first layer's input range
and quantization parameters come from the caller (choose_qparams, on the host):

    t = X * inv_scale + zp               (two float32 roundings, as PyTorch's quantizer)
    A = QuantizeLinear(t, 1.0, 0)        (round half to even; t already lies in 0..qmax)
    Out = float(A - zp) @ B * (x_scale * w_scale) + bias

A layer after a ReLU finds its range in the graph: its input is >= 0, so PyTorch's
ChooseQuantizationParams gives zero point 0 and scale hi / qmax (hi the input's maximum), or
6.1e-5 when that is smaller, or 0.1 when 1 / scale overflows float32. In float32, hi / qmax is
the float64 quotient rounded (a quotient of float32 values rounds once either way), and
rounding is monotone, so max(scale, 6.1e-5) rounded is the rounded scale's max with 6.1e-5
rounded: the graph's float32 nodes give PyTorch's scale exactly.

The product and epilogue of a per-tensor weight run as onnxruntime's MatMulIntegerToFloat,
whose output step is float(acc) * (a_scale * w_scale) then + bias, two roundings as here (no
fused multiply-add), without the int32 and float intermediates; per-channel weights take
MatMulInteger, Cast, Mul and Add. Graph fusions stay off (basic level): a fused kernel chosen
by onnxruntime may round its epilogue differently.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ... import _ort_kernels as ok
from .int8_matmul import ZERO_POINTS

_OPSET = 13
_FLOAT, _UINT8 = ok.FLOAT, ok.UINT8
_OUT = ["Out"]
_SMALL_SCALE = 6.1e-5  # PyTorch's smallest dynamic activation scale
_FALLBACK_SCALE = 0.1  # its scale when 1 / scale would overflow
_CACHED = 8  # sessions kept per first layer (thread counts, chains it starts)


class Layer(NamedTuple):
    """One layer of a chain: its packed weight (int8_matmul.GemmWeight, with `scale` set),
    float32 bias (N,) or None, activation range top (127 or 255), and whether a ReLU follows."""

    gemm: object
    bias: np.ndarray | None
    qmax: int
    relu: bool


def model_bytes(layers: Sequence[Layer]) -> bytes:
    """The ModelProto of a chain: X float32 (M, K) -> Out float32 (M, N of the last layer).
    Inputs besides X, for the first layer: inv_scale, zp_float, x_scale (float32 scalars) and
    zp (uint8 (1,)). Every layer but the last must have `relu`."""
    k = layers[0].gemm.b.shape[0]
    nodes = [ok.node("Mul", ["X", "inv_scale"], ["scaled"]),
             ok.node("Add", ["scaled", "zp_float"], ["shifted"]),
             ok.node("QuantizeLinear", ["shifted", "one", "zero"], ["A0"])]
    constants = [ok.tensor("one", np.ones((), np.float32)),
                 ok.tensor("zero", np.zeros((), np.uint8))]
    ms_domain = False
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        if i:
            if not layers[i - 1].relu:
                raise ValueError("a chained dynamic Linear layer must follow a ReLU")
            _range_nodes(nodes, constants, i, layer.qmax)
        x_scale, zp = ("x_scale", "zp") if i == 0 else (f"scale{i}", "zero")
        out = "Out" if last and not layer.relu else f"H{i + 1}"
        pre = f"pre{i}" if layer.relu else out
        ms_domain |= _product_nodes(nodes, constants, i, layer, x_scale, zp, pre)
        if layer.relu:
            nodes.append(ok.node("Relu", [pre], ["Out" if last else out]))
    n = layers[-1].gemm.b.shape[1]
    inputs = [("X", _FLOAT, ("M", k)), ("inv_scale", _FLOAT, ()), ("zp_float", _FLOAT, ()),
              ("x_scale", _FLOAT, ()), ("zp", _UINT8, (1,))]
    return ok.model_bytes(nodes, inputs, [("Out", _FLOAT, ("M", n))], "dynamic_linear",
                          _OPSET, constants, ms_domain)


def _range_nodes(nodes: list, constants: list, i: int, qmax: int) -> None:
    """Layer i's input H{i} (>= 0, after a ReLU) quantized to A{i} with zero point 0 and the
    scale `scale{i}` that PyTorch picks for its range (see the module doc)."""
    h = f"H{i}"
    constants += [ok.tensor(f"qmax{i}", np.array(qmax, np.float32))]
    if i == 1:
        constants += [ok.tensor("small", np.array(_SMALL_SCALE, np.float32)),
                      ok.tensor("fallback", np.array(_FALLBACK_SCALE, np.float32))]
    nodes += [
        ok.node("ReduceMax", [h], [f"hi{i}"], keepdims=0),
        ok.node("Div", [f"hi{i}", f"qmax{i}"], [f"raw_scale{i}"]),
        ok.node("Div", ["one", f"raw_scale{i}"], [f"raw_inv{i}"]),
        ok.node("IsInf", [f"raw_inv{i}"], [f"overflows{i}"]),
        ok.node("Max", [f"raw_scale{i}", "small"], [f"kept_scale{i}"]),
        ok.node("Where", [f"overflows{i}", "fallback", f"kept_scale{i}"], [f"scale{i}"]),
        ok.node("Div", ["one", f"scale{i}"], [f"inv{i}"]),
        ok.node("Mul", [h, f"inv{i}"], [f"scaled{i}"]),
        ok.node("QuantizeLinear", [f"scaled{i}", "one", "zero"], [f"A{i}"]),
    ]


def _product_nodes(nodes: list, constants: list, i: int, layer: Layer, x_scale: str, zp: str,
                   out: str) -> bool:
    """out = float(A{i} - zp) @ (B - B_zp) * (x_scale * w_scale) + bias; True when it used
    an operator of onnxruntime's own domain."""
    gemm = layer.gemm
    w_scale = np.asarray(gemm.scale, np.float32).reshape(-1)
    per_tensor = w_scale.size == 1 and gemm.zero_point.size == 1
    constants += [ok.tensor(f"B{i}", gemm.b),
                  ok.tensor(f"B_zp{i}", gemm.zero_point.reshape(()) if per_tensor
                            else gemm.zero_point),
                  ok.tensor(f"w_scale{i}", w_scale.reshape(()) if per_tensor else w_scale)]
    if layer.bias is not None:
        constants.append(ok.tensor(f"bias{i}", np.asarray(layer.bias, np.float32)))
    if per_tensor:
        inputs = [f"A{i}", f"B{i}", x_scale, f"w_scale{i}", zp, f"B_zp{i}"]
        if layer.bias is not None:
            inputs.append(f"bias{i}")
        nodes.append(ok.node("MatMulIntegerToFloat", inputs, [out], domain=ok.MS_DOMAIN))
        return True
    unbiased = out if layer.bias is None else f"unbiased{i}"
    nodes += [ok.node("MatMulInteger", [f"A{i}", f"B{i}", zp, f"B_zp{i}"], [f"Y{i}"]),
              ok.node("Cast", [f"Y{i}"], [f"Y_float{i}"], to=_FLOAT),
              ok.node("Mul", [x_scale, f"w_scale{i}"], [f"out_scale{i}"]),
              ok.node("Mul", [f"Y_float{i}", f"out_scale{i}"], [unbiased])]
    if layer.bias is not None:
        nodes.append(ok.node("Add", [unbiased, f"bias{i}"], [out]))
    return False


def run(layers: Sequence[Layer], x, inv_scale, zero_point: int, x_scale, threads: int):
    """Out (M, N) float32 for x float32 (M, K) C-contiguous whose quantized values
    rint(x * inv_scale + zero_point) all lie in the first layer's activation range (the
    caller checks), x_scale the activation scale; the session made on first use for this
    process, thread count and chain, and kept on the first layer's packed weight."""
    sessions = layers[0].gemm.sessions
    key = (os.getpid(), threads, tuple((id(l.gemm), l.qmax, l.relu) for l in layers))
    entry = sessions.get(key)
    if entry is None:
        if len(sessions) >= _CACHED:
            sessions.clear()
        session = ok.new_session(model_bytes(layers), threads, spin_in_run=threads > 1,
                                 basic_optimizations=True)
        # the entry holds the later layers' weights: their ids in the key stay theirs
        entry = sessions[key] = (session, tuple(layers))
    feeds = {"X": x, "inv_scale": np.array(inv_scale, np.float32),
             "zp_float": _ZP_FLOAT[zero_point], "x_scale": np.array(x_scale, np.float32),
             "zp": ZERO_POINTS[zero_point]}
    return entry[0](_OUT, feeds)[0]


# the activation zero point as a float32 scalar, one read-only array per value (its uint8
# form is int8_matmul's)
_ZP_FLOAT = tuple(np.array(z, np.float32) for z in range(256))
for _z in _ZP_FLOAT:
    _z.flags.writeable = False
