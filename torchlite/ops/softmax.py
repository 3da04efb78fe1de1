"""softmax and log_softmax along a dim (`torchlite.softmax`, `Tensor.softmax`): dedicated Ops
with a fused, stable backward. nn.functional's versions (implicit dim, softmin) call these.
"""

from __future__ import annotations

import numpy as np

from ..amp import state as _amp
from ..autograd.function import Op
from ..backend import get_xp, to_dtype
from ..tensor import Tensor
from .dims import missing_dim, numpy_kwargs, wrap_dim
from .half_compute import FLOAT32, in_float32, is_half_numpy
from .out import with_out


def log_softmax_array(xp, x, axis: int):
    """x - logsumexp(x): shifting by the max keeps exp() from overflowing."""
    m = x.max(axis=axis, keepdims=True)
    shifted = x - m
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Op):
    @staticmethod
    def forward(ctx, x, axis):
        xp = get_xp(x)
        with np.errstate(invalid="ignore"):  # an inf logit (a diverged model): NaN, as PyTorch
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
        with np.errstate(invalid="ignore"):  # an inf logit (a diverged model): NaN, as PyTorch
            y = log_softmax_array(get_xp(x), x, axis)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = get_xp(g)
        return g - xp.exp(y) * g.sum(axis=ctx.axis, keepdims=True), None


def _apply(op, input: Tensor, dim, dtype, name: str, kwargs: dict | None = None) -> Tensor:
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, name, dim)
    if dim is None:
        raise missing_dim(name)
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if _amp.on:
        (input,) = _amp.cast(name, input)
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    elif input._data.dtype.kind not in "fV":
        raise RuntimeError(f"{name}: expected a floating-point input, got {input.dtype}")
    axis = wrap_dim(dim, input._data.ndim, name)
    # float16/bfloat16: exp and sum in float32, as PyTorch's CPU kernels (see half_compute)
    if input._data.dtype is not FLOAT32 and is_half_numpy(input._data):
        op = in_float32(op)
    if input._data.ndim == 0:  # softmax of a scalar: treat it as a 1-element vector
        return op.apply(input.reshape(1), 0).reshape(())
    return op.apply(input, axis)


def softmax(input: Tensor, dim: int | None = None, dtype=None, *, out=None, **kwargs) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (required; `axis=` too, as torch.softmax takes it);
    `dtype` casts the input first.

    Shape: any; the output has the input's shape.
    """
    if out is not None:
        return with_out(softmax, "softmax", out, (input, dim, dtype), kwargs, exact=True)
    return _apply(Softmax, input, dim, dtype, "softmax", kwargs)


def log_softmax(input: Tensor, dim: int | None = None, dtype=None, *, out=None, **kwargs) -> Tensor:
    """log(softmax(x)) along `dim`, computed as x - logsumexp(x) (finite for huge logits).

    Shape: any; the output has the input's shape.
    """
    if out is not None:
        return with_out(log_softmax, "log_softmax", out, (input, dim, dtype), kwargs, exact=True)
    return _apply(LogSoftmax, input, dim, dtype, "log_softmax", kwargs)
