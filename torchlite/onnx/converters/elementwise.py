"""Elementwise ops, activations, softmax, matrix products and dtype/device changes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..builder import Builder
from .dtypes import cast, np_dtype, onnx_type, operand

_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow",
           "Maximum": "Max", "Minimum": "Min"}
# unary ops that are one ONNX operator of the same meaning
_UNARY = {"Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Sin": "Sin", "Cos": "Cos", "Tan": "Tan",
          "Asin": "Asin", "Acos": "Acos", "Atan": "Atan", "Sinh": "Sinh", "Cosh": "Cosh",
          "Tanh": "Tanh", "Sigmoid": "Sigmoid", "Abs": "Abs", "Reciprocal": "Reciprocal",
          "Asinh": "Asinh", "Acosh": "Acosh", "Atanh": "Atanh",
          "Erf": "Erf", "Relu": "Relu", "Neg": "Neg", "Softsign": "Softsign",
          "Hardswish": "HardSwish"}


def _c(b: Builder, value: float, like: np.ndarray) -> str:
    return b.scalar(value, like.dtype)


def binary(b: Builder, op: Any) -> str:
    dt = np_dtype(op.value(2))
    return b.node(_BINARY[op.name], [operand(b, op, 0, dt), operand(b, op, 1, dt)])


def one_operator(b: Builder, op: Any) -> str:
    return b.node(_UNARY[op.name], [op.input(0)])


def unary_composite(b: Builder, op: Any) -> str:
    """The unary ops written with two or three ONNX operators."""
    x, a = op.input(0), op.out()
    n = op.name
    if n == "Exp2":
        return b.node("Pow", [_c(b, 2.0, a), x])
    if n == "Expm1":
        return b.node("Sub", [b.node("Exp", [x]), _c(b, 1.0, a)])
    if n in ("Log2", "Log10"):
        return b.node("Div", [b.node("Log", [x]), _c(b, math.log(2 if n == "Log2" else 10), a)])
    if n == "Log1p":
        return b.node("Log", [b.node("Add", [x, _c(b, 1.0, a)])])
    if n == "Rsqrt":
        return b.node("Div", [_c(b, 1.0, a), b.node("Sqrt", [x])])
    if n == "Square":
        return b.node("Mul", [x, x])
    if n == "Silu":
        return b.node("Mul", [x, b.node("Sigmoid", [x])])
    if n == "Logsigmoid":
        return b.node("Neg", [b.node("Softplus", [b.node("Neg", [x])])])
    if n == "Tanhshrink":
        return b.node("Sub", [x, b.node("Tanh", [x])])
    if n == "Mish":
        return b.node("Mul", [x, b.node("Tanh", [b.node("Softplus", [x])])])
    if n == "Hardsigmoid":
        return b.node("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)
    if n in ("Deg2rad", "Rad2deg"):  # the op multiplies by the constant in x's dtype
        return b.node("Mul", [x, _c(b, math.pi / 180 if n == "Deg2rad" else 180 / math.pi, a)])
    if n == "Erfc":
        return b.node("Sub", [_c(b, 1.0, a), b.node("Erf", [x])])
    if n == "Sinc":
        px = b.node("Mul", [x, _c(b, math.pi, a)])
        return b.node("Where", [b.node("Equal", [x, _c(b, 0.0, a)]), _c(b, 1.0, a),
                                b.node("Div", [b.node("Sin", [px]), px])])
    raise op.unsupported("no ONNX form")


# what each rounding function gives on these probes tells it apart (they are plain callables)
_PROBES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], dtype=np.float32)
_PIECEWISE = {(-1, -1, -1, 1, 1, 1): "Sign", (-3, -2, -1, 0, 1, 2): "Floor",
              (-2, -1, 0, 1, 2, 3): "Ceil", (-2, -1, 0, 0, 1, 2): "Trunc",
              (-2, -2, 0, 0, 2, 2): "Round"}


def piecewise(b: Builder, op: Any) -> str:
    """sign, floor, ceil, trunc, round (PiecewiseConstant with the function as an argument)."""
    x = op.input(0)
    if op.array(0).dtype.kind not in "fc":  # whole numbers already: the op copies them
        return b.node("Identity", [x])
    kind = _PIECEWISE.get(tuple(int(v) for v in op.args[1](np, _PROBES)))
    if kind is None:
        raise op.unsupported("an unknown rounding function")
    if kind == "Trunc":
        neg = b.node("Less", [x, _c(b, 0.0, op.out())])
        return b.node("Where", [neg, b.node("Ceil", [x]), b.node("Floor", [x])])
    return b.node(kind, [x])


def logit(b: Builder, op: Any) -> str:
    x, a = op.input(0), op.out()
    eps = op.value("eps")
    if eps is not None:
        x = b.node("Clip", [x, _c(b, eps, a), _c(b, 1 - eps, a)])
    return b.node("Log", [b.node("Div", [x, b.node("Sub", [_c(b, 1.0, a), x])])])


def binary_composite(b: Builder, op: Any) -> str:
    """atan2, hypot, logaddexp(2), copysign and xlogy written with ONNX primitives."""
    dt = np_dtype(op.value(2))
    x, y = operand(b, op, 0, dt), operand(b, op, 1, dt)
    out = op.out()
    n = op.name
    if n == "Hypot":
        return b.node("Sqrt", [b.node("Add", [b.node("Mul", [x, x]), b.node("Mul", [y, y])])])
    if n in ("Logaddexp", "Logaddexp2"):  # max + log(1 + base**-|a - b|), in base e or 2
        m = b.node("Max", [x, y])
        d = b.node("Neg", [b.node("Abs", [b.node("Sub", [x, y])])])
        if n == "Logaddexp":
            return b.node("Add", [m, b.node("Log", [b.node("Add", [_c(b, 1.0, out),
                                                                   b.node("Exp", [d])])])])
        ln2 = _c(b, math.log(2), out)
        t = b.node("Exp", [b.node("Mul", [d, ln2])])
        return b.node("Add", [m, b.node("Div", [b.node("Log", [b.node("Add", [
            _c(b, 1.0, out), t])]), ln2])])
    if n == "Copysign":  # the sign of -0.0 is not visible to ONNX comparisons: it counts as +
        neg = b.node("Less", [y, _c(b, 0.0, out)])
        ax = b.node("Abs", [x])
        return b.node("Where", [neg, b.node("Neg", [ax]), ax])
    if n == "Xlogy":
        zero = b.node("And", [b.node("Equal", [x, _c(b, 0.0, out)]),
                              b.node("Not", [b.node("IsNaN", [y])])])
        return b.node("Where", [zero, _c(b, 0.0, out), b.node("Mul", [x, b.node("Log", [y])])])
    if n == "Atan2":  # atan2(input, other): input is the y coordinate
        x, y = y, x
        base = b.node("Atan", [b.node("Div", [y, x])])
        pi = _c(b, math.pi, out)
        zero = _c(b, 0.0, out)
        x_neg = b.node("Less", [x, zero])
        shift = b.node("Where", [b.node("Less", [y, zero]), b.node("Neg", [pi]), pi])
        r = b.node("Where", [x_neg, b.node("Add", [base, shift]), base])
        half = b.node("Where", [b.node("Less", [y, zero]), _c(b, -math.pi / 2, out),
                                b.node("Where", [b.node("Greater", [y, zero]),
                                                 _c(b, math.pi / 2, out), zero])])
        return b.node("Where", [b.node("Equal", [x, zero]), half, r])
    raise op.unsupported("no ONNX form")


def activation(b: Builder, op: Any) -> str:
    """The activations with attributes (slopes, limits, thresholds)."""
    x, a, n = op.input(0), op.out(), op.name
    if n == "LeakyRelu":
        return b.node("LeakyRelu", [x], alpha=float(op.value("slope")))
    if n == "Hardtanh":
        return b.node("Clip", [x, _c(b, op.value("lo"), a), _c(b, op.value("hi"), a)])
    if n == "Elu":
        alpha, scale = float(op.value("alpha")), float(op.value("scale"))
        y = b.node("Elu", [x], alpha=alpha)
        return y if scale == 1.0 else b.node("Mul", [y, _c(b, scale, a)])
    if n == "Celu":
        return b.node("Celu", [x], alpha=float(op.value("alpha")))
    if n == "Threshold":
        keep = b.node("Greater", [x, _c(b, op.value("th"), a)])
        return b.node("Where", [keep, x, _c(b, op.value("value"), a)])
    if n in ("Softshrink", "Hardshrink"):
        lambd = float(op.value("lambd"))
        return b.node("Shrink", [x], lambd=lambd, bias=lambd if n == "Softshrink" else 0.0)
    if n == "Softplus":
        beta, th = float(op.value("beta")), float(op.value("threshold"))
        bx = b.node("Mul", [x, _c(b, beta, a)]) if beta != 1.0 else x
        soft = b.node("Softplus", [bx])
        if beta != 1.0:
            soft = b.node("Div", [soft, _c(b, beta, a)])
        return b.node("Where", [b.node("Greater", [bx, _c(b, th, a)]), x, soft])
    if n == "Gelu":
        half_x = b.node("Mul", [x, _c(b, 0.5, a)])
        if op.value("approximate") == "tanh":
            cube = b.node("Mul", [b.node("Mul", [x, x]), x])
            inner = b.node("Add", [x, b.node("Mul", [cube, _c(b, 0.044715, a)])])
            t = b.node("Tanh", [b.node("Mul", [inner, _c(b, math.sqrt(2 / math.pi), a)])])
        else:
            t = b.node("Erf", [b.node("Mul", [x, _c(b, 1 / math.sqrt(2), a)])])
        return b.node("Mul", [half_x, b.node("Add", [t, _c(b, 1.0, a)])])
    raise op.unsupported("no ONNX form")


def nan_to_num(b: Builder, op: Any) -> str:
    x, a = op.input(0), op.out()
    info = np.finfo(a.dtype)
    nan, pos, neg = op.value(1), op.value(2), op.value(3)
    y = b.node("Where", [b.node("IsNaN", [x]), _c(b, nan, a), x])
    y = b.node("Where", [b.node("IsInf", [x], detect_negative=0),
                         _c(b, info.max if pos is None else pos, a), y])
    return b.node("Where", [b.node("IsInf", [x], detect_positive=0),
                            _c(b, info.min if neg is None else neg, a), y])


def prelu(b: Builder, op: Any) -> str:
    x, w = op.array(0), op.array(1)
    wn = op.input(1)
    if w.size != 1 and x.ndim > 2:
        wn = b.node("Reshape", [wn, b.ints([w.size] + [1] * (x.ndim - 2))])
    elif w.size == 1:
        wn = b.node("Reshape", [wn, b.ints([])])
    return b.node("PRelu", [op.input(0), wn])


def where(b: Builder, op: Any) -> str:
    dt = np_dtype(op.value(3))
    cond = cast(b, op.input(0), op.array(0).dtype, np.bool_)
    return b.node("Where", [cond, operand(b, op, 1, dt), operand(b, op, 2, dt)])


def clamp(b: Builder, op: Any) -> str:
    dt = op.array(0).dtype
    y = op.input(0)
    if op.args[1] is not None:
        y = b.node("Max", [y, operand(b, op, 1, dt)])
    if op.args[2] is not None:
        y = b.node("Min", [y, operand(b, op, 2, dt)])
    return y


def softmax(b: Builder, op: Any) -> str:
    axis = op.value(1)
    return b.node("Softmax" if op.name == "Softmax" else "LogSoftmax", [op.input(0)],
                  axis=int(axis))


def matmul(b: Builder, op: Any) -> str:
    return b.node("MatMul", [op.input(0), op.input(1)])


def einsum(b: Builder, op: Any) -> str:
    subs, out = op.value(0), op.value(1)
    eq = ",".join(subs) + "->" + out
    return b.node("Einsum", [op.input(i) for i in range(2, len(op.args))], equation=eq)


def identity(b: Builder, op: Any) -> str:
    return b.node("Identity", [op.input(0)])


def cast_op(b: Builder, op: Any) -> str:
    return b.node("Cast", [op.input(0)], to=onnx_type(b, op.value(1)))


def converters() -> dict[type, Any]:
    from importlib import import_module

    act = import_module("torchlite.nn.functional.activation")
    from ...ops import creation, elementwise, linalg, ternary, unary
    from ...ops import softmax as sm

    t: dict[type, Any] = {}
    for n in _BINARY:
        t[getattr(elementwise, n)] = binary
    for n in _UNARY:
        cls = getattr(unary, n, None) or getattr(act, n)
        t[cls] = one_operator
    for n in ("Exp2", "Expm1", "Log2", "Log10", "Log1p", "Rsqrt", "Square", "Deg2rad",
              "Rad2deg"):
        t[getattr(unary, n)] = unary_composite
    special = import_module("torchlite.ops.special")
    for n in ("Erfc", "Sinc"):
        t[getattr(special, n)] = unary_composite
    t[special.Logit] = logit
    t[unary.PiecewiseConstant] = piecewise
    for n in ("Atan2", "Hypot", "Logaddexp", "Logaddexp2", "Copysign", "Xlogy"):
        t[getattr(elementwise, n)] = binary_composite
    for n in ("Silu", "Logsigmoid", "Tanhshrink", "Mish", "Hardsigmoid"):
        t[getattr(act, n)] = unary_composite
    for n in ("LeakyRelu", "Hardtanh", "Elu", "Celu", "Threshold", "Softshrink", "Hardshrink",
              "Softplus", "Gelu"):
        t[getattr(act, n)] = activation
    t[act.Prelu] = prelu
    t[unary.NanToNum] = nan_to_num
    t[ternary.Where] = where
    t[ternary.Clamp] = clamp
    t[sm.Softmax] = t[sm.LogSoftmax] = softmax
    t[linalg.Matmul] = matmul
    t[linalg.Einsum] = einsum
    t[creation.Clone] = t[creation.ToDevice] = identity
    t[creation.Cast] = cast_op
    return t
