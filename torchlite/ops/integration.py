"""The trapezoidal rule: trapezoid (trapz) and cumulative_trapezoid, over evenly spaced samples
(spacing dx) or at given sample points x; composed of differentiable ops."""

from __future__ import annotations

from ..tensor import Tensor
from .dims import wrap_dim


def _areas(y: Tensor, x, dx, dim: int, op: str) -> Tensor:
    d = wrap_dim(dim, y.ndim, op)
    n = y.shape[d]
    left, right = y.narrow(d, 0, max(n - 1, 0)), y.narrow(d, min(1, n), max(n - 1, 0))
    heights = (left + right) / 2
    if x is None:
        return heights * (1.0 if dx is None else dx), d
    if isinstance(x, Tensor):
        if x.ndim == 1:
            if x.shape[0] != n:
                raise RuntimeError(f"{op}: There must be one `x` value for each sample point")
            widths = x[1:] - x[:-1]
            widths = widths.reshape((-1,) + (1,) * (y.ndim - 1 - d)) if y.ndim > 1 else widths
        else:
            widths = x.narrow(d, min(1, n), max(n - 1, 0)) - x.narrow(d, 0, max(n - 1, 0))
        return heights * widths, d
    return heights * float(x), d  # a number: the spacing, as PyTorch's trapezoid(y, dx)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The integral of y along dim by the trapezoidal rule (spacing dx, default 1, or sample
    points x: a 1-D tensor along dim or a tensor shaped like y)."""
    areas, d = _areas(y, x, dx, dim, "trapezoid")
    return areas.sum(d)


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """trapezoid's older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along dim (one element shorter than y there)."""
    areas, d = _areas(y, x, dx, dim, "cumulative_trapezoid")
    return areas.cumsum(d)
