"""linear and bilinear: one graph node each, backward by matmuls."""

from __future__ import annotations

import math

import numpy as np

from ...amp import state as _amp
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.half_compute import FLOAT32, in_float32
from ...tensor import Tensor
from ._util import check_tensor


def _affine(x, w, b):
    """x @ w.T + b, C-contiguous like PyTorch's result.

    For few rows and many outputs, OpenBLAS computes `x @ w.T` (its NT kernel) about 1.2-1.6x
    slower than the same product as `w @ x.T` (measured for 32-128 rows x 784 -> 512 on a
    2-core x86 machine, one or two threads; the two agree once rows reach ~512). The transposed
    product then needs one pass to come back to row-major order, and the bias add is that pass.
    """
    xp = get_xp(x)
    rows = math.prod(x.shape[:-1])
    if xp is np and x.ndim >= 2 and rows <= _FEW_ROWS and w.shape[0] >= _MANY_OUTPUTS:
        x2 = x.reshape(rows, x.shape[-1])
        yt = w @ x2.T  # (out, rows)
        y = np.empty(x.shape[:-1] + (w.shape[0],), dtype=yt.dtype)
        y2 = y.reshape(rows, w.shape[0])
        if b is not None:
            np.add(yt.T, b, out=y2)
        else:
            y2[...] = yt.T
        return y
    y = x @ w.T
    if b is not None:
        y += b
    return y


# _affine's switch to the transposed product; see its docstring for the measurements.
_FEW_ROWS = 128
_MANY_OUTPUTS = 256


class Linear(Op):
    """y = x @ W.T + b over the last dim of x (any leading dims)."""

    @staticmethod
    def forward(ctx, x, w, b):
        n = ctx.needs_input_grad  # dx needs only W and dW only x
        ctx.save_for_backward(x if n[1] else None, w if n[0] else None)
        ctx.has_bias = b is not None
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
            return _affine(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return affine_grads(ctx.needs_input_grad, x, w, g)


def affine_grads(need, x, w, g):
    """(dx, dW, db) of y = x @ w.T + b from dy = g, each only where `need` asks for it."""
    gx = gw = gb = None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
        if need[0]:
            gx = g @ w
        if need[1] or need[2]:
            g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
            if need[1]:
                x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
                gw = g2.T @ x2
            if need[2]:
                gb = g2.sum(axis=0)
    return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b. Shape: input (*, in), weight (out, in), bias (out,), output (*, out)."""
    if _amp.on:
        out = _amp.fused_linear(input, weight, bias, False)
        if out is not None:
            return out
        input, weight, bias = _amp.cast("linear", input, weight, bias)
    if input._data.dtype is not FLOAT32 and input._data.dtype.char in "eE":  # see half_compute
        return _half_op(Linear, input).apply(input, weight, check_linear(input, weight, bias))
    return Linear.apply(input, weight, check_linear(input, weight, bias))


def _half_op(op, input: Tensor):
    return in_float32(op) if type(input._data) is np.ndarray else op


def check_linear(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor | None:
    """PyTorch's errors for mismatched linear arguments; returns the bias as shape (out,)."""
    if isinstance(input, Tensor) and isinstance(weight, Tensor):  # the usual call, on the arrays
        x, w = input._data, weight._data
        if (w.ndim == 2 and x.ndim and x.shape[-1] == w.shape[1] and x.dtype == w.dtype
                and (bias is None or (isinstance(bias, Tensor) and bias._data.shape == w.shape[:1]
                                      and bias._data.dtype == w.dtype))):
            return bias
    check_tensor(input, "linear")
    check_tensor(weight, "linear", "weight")
    if weight.dim() != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out, in), got shape {tuple(weight.shape)}")
    if input.dim() == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"linear: mat1 and mat2 shapes cannot be multiplied (input {tuple(input.shape)}, "
            f"weight.T {(weight.shape[1], weight.shape[0])})"
        )
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), (), (1,)):
        raise RuntimeError(
            f"linear: bias of shape {tuple(bias.shape)} does not match {weight.shape[0]} outputs"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"linear: expected input and weight to have the same dtype, but got {input.dtype} "
            f"and {weight.dtype}"
        )
    if bias is not None and bias.dtype != weight.dtype:
        raise RuntimeError(
            f"linear: expected bias to have the weight's dtype {weight.dtype}, got {bias.dtype}"
        )
    if bias is not None and bias.dim() != 1:
        bias = bias.expand(weight.shape[0])
    return bias


class Bilinear(Op):
    """y[n, o] = sum_ij x1[n, i] W[o, i, j] x2[n, j] + b[o]."""

    @staticmethod
    def forward(ctx, x1, x2, w, b):
        xp = get_xp(x1)
        t = xp.einsum("ni,oij->noj", x1, w)  # (N, out, in2)
        y = xp.einsum("noj,nj->no", t, x2)
        ctx.save_for_backward(x1, x2, w)
        ctx.t = t
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, g):
        x1, x2, w = ctx.saved_tensors
        xp = get_xp(g)
        need = ctx.needs_input_grad
        g1 = g2 = gw = gb = None
        if need[0]:
            g1 = xp.einsum("no,oij,nj->ni", g, w, x2, optimize=True)
        if need[1]:
            g2 = xp.einsum("no,noj->nj", g, ctx.t)
        if need[2]:
            gw = xp.einsum("no,ni,nj->oij", g, x1, x2, optimize=True)
        if need[3]:
            gb = g.sum(axis=0)
        return g1, g2, gw, gb

    @staticmethod
    def graph_backward(ctx, g):
        """backward with the kept product x1 . W formed again from the stand-ins, so that it
        carries its history into a graph of the backward pass."""
        x1, _, w = ctx.saved_tensors
        fast = ctx.t
        ctx.t = get_xp(g).einsum("ni,oij->noj", x1, w)
        try:
            return Bilinear.backward(ctx, g)
        finally:
            ctx.t = fast


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """y = x1^T A x2 + b. Shape: (*, in1), (*, in2), weight (out, in1, in2) -> (*, out)."""
    check_tensor(input1, "bilinear", "input1")
    check_tensor(input2, "bilinear", "input2")
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear: weight must be 3-D, got shape {tuple(weight.shape)}")
    out, in1, in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    if (input1.dim() == 0 or input1.shape[-1] != in1 or input2.dim() == 0
            or input2.shape[-1] != in2 or tuple(input2.shape[:-1]) != lead):
        raise RuntimeError(
            f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} do not match "
            f"weight {tuple(weight.shape)}"
        )
    op = _half_op(Bilinear, input1) if input1._data.dtype.char in "eE" else Bilinear
    y = op.apply(input1.reshape(-1, in1), input2.reshape(-1, in2), weight, bias)
    return y.reshape(*lead, out)
