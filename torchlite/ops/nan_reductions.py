"""Reductions that skip NaNs: nansum and nanmean (NaNs count as absent; their gradient is 0)."""

from __future__ import annotations

from ..tensor import Tensor
from .comparison import isnan
from .reduction import sum as _sum
from .ternary import where


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum over `dim` (all elements by default) with NaNs taken as 0."""
    x = where(isnan(input), 0, input) if input.is_floating_point() else input
    return _sum(x, dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean over `dim` of the elements that are not NaN (NaN where all are)."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {str(input.dtype).split('.')[-1].capitalize()}")
    present = ~isnan(input)
    return nansum(input, dim, keepdim) / _sum(present.to(input.dtype), dim, keepdim)
