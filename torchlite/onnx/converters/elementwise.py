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
    for n in ("Exp2", "Expm1", "Log2", "Log10", "Log1p", "Rsqrt", "Square"):
        t[getattr(unary, n)] = unary_composite
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
