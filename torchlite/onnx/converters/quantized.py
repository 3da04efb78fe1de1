"""Quantized layers, captured whole (their integer arithmetic runs on raw arrays, outside the
recorded ops): the dynamically quantized Linear.

The graph does what nn/quantized/modules/linear_kernels.dynamic_linear does, step for step: the
input's range and PyTorch's choice of scale and zero point (in float64, as that code computes
them in Python floats), the input rounded onto the quint8 grid (0..127 with reduce_range), the
product with the int8 weight as integer-valued float32 (exact, split where the sums could pass
2**24 as int_matmul splits them), then the scales and the bias. The outputs equal torchlite's
to float32 rounding, where ONNX's DynamicQuantizeLinear + MatMulInteger would choose other
quantization parameters (0..255, no zero-point nudging) and give other numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..builder import Builder
from .dtypes import onnx_type
from .reduce import reduce

_SMALL_SCALE = 6.1e-5  # linear_kernels._SMALL_SCALE


def _modules() -> dict[str, type]:
    from importlib import import_module

    try:
        dyn = import_module("torchlite.nn.quantized.dynamic.linear")
    except ImportError:  # a build without the quantized layers
        return {}
    return {"dynamic_linear": dyn.Linear}


def modules() -> tuple[type, ...]:
    return tuple(_modules().values())


def _qparams(b: Builder, x: str, qmax: int) -> tuple[str, str]:
    """(scale, zero point) as float32 scalars: linear_kernels.choose_qparams over x's range."""
    f64 = np.float64

    def c(v: float) -> str:
        return b.scalar(v, f64)

    lo = b.node("Min", [b.node("Cast", [reduce(b, "ReduceMin", x, [], False)],
                               to=onnx_type(b, f64)), c(0.0)])
    hi = b.node("Max", [b.node("Cast", [reduce(b, "ReduceMax", x, [], False)],
                               to=onnx_type(b, f64)), c(0.0)])
    scale = b.node("Div", [b.node("Sub", [hi, lo]), c(qmax)])
    s32 = b.node("Cast", [scale], to=onnx_type(b, np.float32))
    bad = b.node("Or", [b.node("Equal", [s32, b.scalar(0.0, np.float32)]),
                        b.node("IsInf", [b.node("Div", [b.scalar(1.0, np.float32), s32])])])
    scale = b.node("Where", [bad, c(0.1), scale])
    small = b.node("Less", [scale, c(_SMALL_SCALE)])
    ratio = b.node("Div", [c(_SMALL_SCALE), scale])
    lo0, hi0 = b.node("Equal", [lo, c(0.0)]), b.node("Equal", [hi, c(0.0)])
    hi_s = b.node("Where", [lo0, c(_SMALL_SCALE * qmax),
                            b.node("Where", [hi0, hi, b.node("Mul", [hi, ratio])])])
    lo_s = b.node("Where", [lo0, lo, b.node("Where", [hi0, c(-_SMALL_SCALE * qmax),
                                                      b.node("Mul", [lo, ratio])])])
    lo = b.node("Where", [small, lo_s, lo])
    hi = b.node("Where", [small, hi_s, hi])
    scale = b.node("Where", [small, c(_SMALL_SCALE), scale])
    lo_q, hi_q = b.node("Div", [lo, scale]), b.node("Div", [hi, scale])
    zp_min = b.node("Neg", [lo_q])
    zp_max = b.node("Sub", [c(qmax), hi_q])
    err_min = b.node("Neg", [b.node("Abs", [lo_q])])
    err_max = b.node("Sub", [c(qmax), b.node("Abs", [hi_q])])
    zp = b.node("Where", [b.node("Less", [err_min, err_max]), zp_min, zp_max])
    zp = b.node("Where", [b.node("Less", [zp, c(0.0)]), c(0.0),
                          b.node("Where", [b.node("Greater", [zp, c(qmax)]), c(qmax),
                                           b.node("Round", [zp])])])
    f32 = onnx_type(b, np.float32)
    return b.node("Cast", [scale], to=f32), b.node("Cast", [zp], to=f32)


def _int_matmul(b: Builder, a: str, w: np.ndarray, qmax: int, wmax: int, name: str) -> str:
    """a @ w.T of integer-valued float32 values, exact (ao.quantization.int8_matmul)."""
    from ...ao.quantization.int8_matmul import chunk_length

    k = w.shape[1]
    step = chunk_length(qmax, wmax)
    wt = b.initializer(np.ascontiguousarray(w.T.astype(np.float32)), b.fresh(name))
    if k <= step:
        return b.node("MatMul", [a, wt])
    total = None
    for i in range(0, k, step):
        j = min(k, i + step)
        part = b.node("MatMul", [b.node("Slice", [a, b.ints([i]), b.ints([j]), b.ints([-1])]),
                                 b.node("Slice", [wt, b.ints([i]), b.ints([j]), b.ints([0])])])
        part = b.node("Cast", [part], to=onnx_type(b, np.float64))
        total = part if total is None else b.node("Add", [total, part])
    return b.node("Cast", [total], to=onnx_type(b, np.float32))


def dynamic_linear(b: Builder, op: Any) -> str:
    from ...backend import to_host

    mod = op.kwargs["module"]
    packed = mod._packed_params
    qmax = 127 if mod.reduce_range else 255
    x = op.input(0)
    if op.array(0).dtype != np.float32:
        x = b.node("Cast", [x], to=onnx_type(b, np.float32))
    scale, zp = _qparams(b, x, qmax)
    a = b.node("Add", [b.node("Mul", [x, b.node("Div", [b.scalar(1.0, np.float32), scale])]),
                       zp])
    a = b.node("Min", [b.node("Max", [b.node("Round", [a]), b.scalar(0.0, np.float32)]),
                       b.scalar(float(qmax), np.float32)])
    a = b.node("Sub", [a, zp])
    w, wmax = packed.float_weight()
    path = op.rec.module or "linear"
    acc = _int_matmul(b, a, to_host(w), qmax, int(wmax), f"{path}._packed_params.weight")
    w_scale = to_host(packed.weight_scale._data).astype(np.float32)
    out = b.node("Mul", [acc, b.node("Mul", [scale, b.const(w_scale, "weight_scale")])])
    if packed.bias is not None:
        bias = b.initializer(to_host(packed.bias._data).astype(np.float32),
                             b.fresh(f"{path}.bias"))
        out = b.node("Add", [out, bias])
    return out


def converters() -> dict[type, Any]:
    m = _modules()
    return {m["dynamic_linear"]: dynamic_linear} if m else {}
