"""relu on NumPy float16 and bfloat16 arrays, on their bits.

NumPy computes `maximum(x, 0)` and `g * (out > 0)` on float16 one element at a time through
float32 (about 5 ns an element, 50 times float32's), and ml_dtypes' bfloat16 loops are not much
faster; relu runs after every hidden layer of a mixed-precision model. Both results only choose
between an input element and a zero, so they can be made from the 16-bit patterns with a few
whole-array integer passes, bit for bit what those loops give (tests/ops/test_half_relu.py
checks all 65,536 values of each dtype):

* forward: float16's maximum keeps -0 and NaN and returns +0 for every value below zero;
  bfloat16's (ml_dtypes) returns +0 for -0 too and keeps NaN.
* backward: `g * (out > 0)` is g where out > 0 (positive, NaN excluded) and g times +0 (a zero
  with g's sign) elsewhere, for finite g. A gradient with an inf or NaN goes through the
  original arithmetic (inf * 0 and a NaN's quiet bit are the FPU's business).
"""

from __future__ import annotations

import numpy as np

from .unary import Relu

_U16 = np.uint16
# per dtype code: (first, last) bit patterns that relu sends to +0, and the exponent mask
_ZEROED = {"e": (0x8001, 0xFC00), "E": (0x8000, 0xFF80)}
_EXP = {"e": _U16(0x7C00), "E": _U16(0x7F80)}
_SIGN = _U16(0x8000)
_ABS = _U16(0x7FFF)


def relu_bits(x: np.ndarray) -> np.ndarray:
    """`np.maximum(x, 0)` for a NumPy float16 or bfloat16 array, bit for bit."""
    first, last = _ZEROED[x.dtype.char]
    u = x.view(_U16)
    keep = (u - _U16(first)) > _U16(last - first)  # (the subtraction wraps around)
    return (u * keep).view(x.dtype)


def relu_grad_bits(g: np.ndarray, out: np.ndarray) -> np.ndarray | None:
    """`g * (out > 0)` for NumPy float16 or bfloat16 arrays of one dtype and shape, bit for
    bit; None when g holds an inf or NaN (the caller then computes it as is)."""
    exp = _EXP[g.dtype.char]
    gu = g.view(_U16)
    mask = np.bitwise_and(gu, _ABS)
    # an exponent of all ones is the largest magnitude: one read pass, no boolean mask
    if mask.size and mask.max() >= exp:
        return None
    np.subtract(out.view(_U16), _U16(1), out=mask)
    positive = mask < exp  # 0x0001 up to +inf
    np.multiply(positive, _U16(0x7FFF), out=mask)
    mask |= _SIGN
    mask &= gu
    return mask.view(g.dtype)


class HalfRelu(Relu):
    """unary.Relu for NumPy float16/bfloat16 arrays (see the module docstring); other arrays,
    and the arrays of a graph being built by create_graph, take Relu's own formulas."""

    @staticmethod
    def forward(ctx, x):
        if type(x) is not np.ndarray or x.dtype.char not in _ZEROED or x.ndim == 0:
            return Relu.forward(ctx, x)
        out = relu_bits(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if (type(g) is np.ndarray and type(out) is np.ndarray and g.dtype == out.dtype
                and g.dtype.char in _ZEROED and g.shape == out.shape and g.ndim):
            r = relu_grad_bits(g, out)
            if r is not None:
                return r
        return Relu.backward(ctx, g)


HalfRelu.__name__ = HalfRelu.__qualname__ = "Relu"  # its graph node is PyTorch's ReluBackward0
HalfRelu.__module__ = Relu.__module__
