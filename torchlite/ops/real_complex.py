"""The complex-number functions on real tensors (torchlite has no complex dtypes): conj and
the resolve_* functions return their input, `real` its input, `imag` refuses, and `angle` is
0 for x >= 0 and pi for x < 0 (NaN stays NaN), with a zero gradient, as PyTorch's."""

from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor


def conj(input: Tensor) -> Tensor:
    return input


def conj_physical(input: Tensor) -> Tensor:
    return input.clone()


def resolve_conj(input: Tensor) -> Tensor:
    return input


def resolve_neg(input: Tensor) -> Tensor:
    return input


def is_conj(input: Tensor) -> bool:
    return False


def is_neg(input: Tensor) -> bool:
    return False


def is_complex(input: Tensor) -> bool:
    return False


def real(input: Tensor) -> Tensor:
    return input


def imag(input: Tensor) -> Tensor:
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims: for real tensors, a transposed view."""
    if input.ndim < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.ndim}-D tensor.")
    return input.transpose(-2, -1)


class Angle(Op):
    """angle of a real tensor: piecewise constant, so a zero gradient (PyTorch's too)."""

    @staticmethod
    def forward(ctx, x):
        xp = get_xp(x)
        value = xp.where(x < 0, x.dtype.type(math.pi), x.dtype.type(0))
        return xp.where(xp.isnan(x), x, value).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return get_xp(g).zeros_like(g)


def angle(input: Tensor) -> Tensor:
    """0 where input >= 0, pi where it is negative, NaN where it is NaN; floats keep their
    dtype and integers give the default float dtype."""
    import torchlite

    x = input if input.is_floating_point() else input.to(torchlite.get_default_dtype())
    return Angle.apply(x)
