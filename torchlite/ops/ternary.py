"""Elementwise ops of three operands: where, clamp (and clip, clamp_min, clamp_max), lerp,
addcmul and addcdiv, with elementwise.py's broadcasting, dtype and gradient rules."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import from_numpy_dtype
from ..tensor import Tensor
from .broadcast import broadcast_shapes
from .elementwise import _cpu_like, _operands, add, div, mul, sub
from .elementwise_factory import array_module, cast, operand_grad, operand_meta
from .out import with_out
from .promotion import as_tensor_arg, result_dtype


class Where(Op):
    @staticmethod
    def forward(ctx, cond, a, b, dt):
        ctx.ma, ctx.mb = operand_meta(a), operand_meta(b)
        ctx.save_for_backward(cond)
        xp = array_module(cond)
        out = xp.where(cond, cast(a, dt), cast(b, dt))
        return out if out.dtype == dt else out.astype(dt)  # where(c, 1.0, 0.0) is float32

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        n = ctx.needs_input_grad
        zero = g.dtype.type(0)
        xp = array_module(g)
        return (
            None,
            operand_grad(xp.where(cond, g, zero), ctx.ma) if n[1] else None,
            operand_grad(xp.where(cond, zero, g), ctx.mb) if n[2] else None,
            None,
        )


class Clamp(Op):
    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = array_module(x)
        ctx.ml, ctx.mh = operand_meta(lo), operand_meta(hi)
        lo_c = cast(lo, x.dtype) if lo is not None else None
        hi_c = cast(hi, x.dtype) if hi is not None else None
        out = x
        if lo_c is not None:
            out = xp.maximum(out, lo_c)
        if hi_c is not None:
            out = xp.minimum(out, hi_c)
        ctx.save_for_backward(x, lo_c, hi_c)
        return out

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        n = ctx.needs_input_grad
        xp = array_module(g)
        keep = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            keep = keep & (x >= lo)
        if hi is not None:
            keep = keep & (x <= hi)
        gx = operand_grad(g * keep, (x.shape, x.dtype)) if n[0] else None  # bounds may broadcast x
        glo = ghi = None
        if n[1]:
            glo = operand_grad(g * (x < lo), ctx.ml)
        if n[2]:
            ghi = operand_grad(g * (x > hi), ctx.mh)
        return gx, glo, ghi


def where(condition, input=None, other=None, *, out=None):
    """Elements of `input` where `condition` is true, else of `other` (broadcasting)."""
    if out is not None:
        return with_out(where, "where", out, (condition, input, other), exact=True)
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    cond = condition if isinstance(condition, Tensor) else as_tensor_arg(condition, _cpu_like())
    if cond._data.dtype != np.bool_:
        cond = Tensor._make(cond._data.astype(bool), cond._device)
    a, b = _operands(input, other, "where")
    shapes = [cond._data.shape] + [x._data.shape for x in (a, b) if isinstance(x, Tensor)]
    broadcast_shapes("where", *shapes)
    return Where.apply(cond, a, b, result_dtype(a, b))


def clamp(input, min=None, max=None, *, out=None):  # noqa: A002 - PyTorch's names
    """Limit values to [min, max]; the gradient flows where the input was inside the range."""
    if out is not None:
        return with_out(clamp, "clamp", out, (input, min, max))
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    lo = min if not isinstance(min, (list, tuple)) else as_tensor_arg(min, input)
    hi = max if not isinstance(max, (list, tuple)) else as_tensor_arg(max, input)
    # PyTorch's promotion over input and bounds: clamp(int_tensor, max=2.5) is float32
    dt = result_dtype(input, *[v for v in (lo, hi) if v is not None])
    if dt != input._data.dtype:
        input = input.to(from_numpy_dtype(dt))
    return Clamp.apply(input, lo, hi)


clip = clamp


def clamp_min(input, min, *, out=None):  # noqa: A002
    if out is not None:
        return with_out(clamp_min, "clamp_min", out, (input, min))
    return clamp(input, min=min)


def clamp_max(input, max, *, out=None):  # noqa: A002
    if out is not None:
        return with_out(clamp_max, "clamp_max", out, (input, max))
    return clamp(input, max=max)


def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input), evaluated as PyTorch does: from `end`, as
    end - (end - input) * (1 - weight), where |weight| >= 0.5 (exact at weight 1, and the
    same bits as PyTorch's)."""
    if out is not None:
        return with_out(lerp, "lerp", out, (input, end, weight))
    diff = sub(end, input)
    if not isinstance(weight, Tensor):
        if abs(weight) < 0.5:
            return add(input, mul(weight, diff))
        return sub(end, mul(diff, 1 - weight))
    from .unary import abs as _abs

    low = add(input, mul(weight, diff))
    high = sub(end, mul(diff, sub(1, weight)))
    return where(_abs(weight) < 0.5, low, high)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    if out is not None:
        return with_out(addcmul, "addcmul", out, (input, tensor1, tensor2), {"value": value})
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    if out is not None:
        return with_out(addcdiv, "addcdiv", out, (input, tensor1, tensor2), {"value": value})
    return add(input, mul(div(tensor1, tensor2), value))
