"""Helpers shared by the functional modules: argument checks, reductions, in-place results."""

from __future__ import annotations

import warnings

from ...autograd.views import inplace as write_inplace
from ...tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def check_tensor(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def check_float(x, fn: str, name: str = "input") -> Tensor:
    check_tensor(x, fn, name)
    if x._data.dtype.kind not in "fV":
        raise RuntimeError(f"{fn}(): expected a floating-point {name}, got {x.dtype}")
    return x


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """Map PyTorch's deprecated size_average/reduce flags onto `reduction`."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='"
        f"{_legacy(size_average, reduce)}' instead.", stacklevel=3,
    )
    return _legacy(size_average, reduce)


def _legacy(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def check_reduction(reduction: str, extra: tuple = ()) -> str:
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def as_float(v) -> float:
    """A Python float (NumPy scalars would promote float32 arrays to float64 under NEP 50)."""
    return float(v)


def maybe_inplace(input: Tensor, compute, inplace: bool) -> Tensor:
    """`compute(input)`, or with `inplace=True` the same written into `input` (returned).

    In place goes through Tensor's in-place machinery (`autograd.views.inplace`), as
    `input.relu_()` does: with autograd recording, `input` takes over the result's history
    (views of it follow), and a leaf that requires grad refuses, as in PyTorch.
    """
    if not inplace:
        return compute(input)
    return write_inplace(input, compute)
