"""softmax, log_softmax and softmin along a dim: dedicated Ops with fused, stable backward."""

from __future__ import annotations

import warnings

from ...autograd.function import Op
from ...backend import get_xp, to_dtype
from ...tensor import Tensor
from ._util import check_tensor, wrap_dim


def log_softmax_array(xp, x, axis: int):
    """x - logsumexp(x): shifting by the max keeps exp() from overflowing."""
    m = x.max(axis=axis, keepdims=True)
    shifted = x - m
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Op):
    @staticmethod
    def forward(ctx, x, axis):
        xp = get_xp(x)
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Op):
    @staticmethod
    def forward(ctx, x, axis):
        y = log_softmax_array(get_xp(x), x, axis)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = get_xp(g)
        return g - xp.exp(y) * g.sum(axis=ctx.axis, keepdims=True), None


def _get_softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.", stacklevel=4,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _prepare(input, dim, dtype, name: str):
    check_tensor(input, name)
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    elif input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating-point input, got {input.dtype}")
    if dim is None:
        dim = _get_softmax_dim(name, input.dim())
    axis = wrap_dim(dim, input.dim(), name)
    return input, axis


def _zero_d(op, input, axis):
    if input.dim() == 0:  # softmax of a scalar: treat it as a 1-element vector
        return op.apply(input.reshape(1), 0).reshape(())
    return op.apply(input, axis)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`. Shape: any; the output has the input's shape."""
    input, axis = _prepare(input, dim, dtype, "softmax")
    return _zero_d(Softmax, input, axis)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """log(softmax(x)) along `dim`, computed as x - logsumexp(x) (finite for huge logits)."""
    input, axis = _prepare(input, dim, dtype, "log_softmax")
    return _zero_d(LogSoftmax, input, axis)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along `dim`."""
    input, axis = _prepare(input, dim, dtype, "softmin")
    return _zero_d(Softmax, -input, axis)
