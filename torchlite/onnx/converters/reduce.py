"""Reductions: sum, mean, prod, amax/amin, max/min along a dim, logsumexp, norm, var, cumsum.

Opset 18 moved the axes of most Reduce* operators from an attribute to an input (ReduceSum's
moved in 13); `reduce` writes whichever form the target opset has.
"""

from __future__ import annotations

from typing import Any

from ..builder import Builder
from .dtypes import cast, np_dtype


def _axes(axes: Any, ndim: int) -> list[int]:
    if axes is None:
        return list(range(ndim))
    if isinstance(axes, int):
        return [axes % ndim] if ndim else []
    return [int(a) % ndim for a in axes]


def reduce(b: Builder, op_type: str, x: str, axes: list[int], keepdims: bool) -> str:
    if op_type == "ReduceSum" or b.opset >= 18:
        return b.node(op_type, [x, b.ints(axes)], keepdims=int(keepdims))
    return b.node(op_type, [x], axes=axes or None, keepdims=int(keepdims))  # none: all


def sum_(b: Builder, op: Any) -> str:
    x = op.array(0)
    dt = op.value(3)
    out_dt = op.out().dtype if dt is None else np_dtype(dt)
    src = cast(b, op.input(0), x.dtype, out_dt)
    return reduce(b, "ReduceSum", src, _axes(op.value(1), x.ndim), op.value(2))


def simple(b: Builder, op: Any) -> str:
    """Mean, Prod, LogSumExp, Norm2 and AmaxAmin: (x, axes, keepdim[, is_max])."""
    x = op.array(0)
    kind = {"Mean": "ReduceMean", "Prod": "ReduceProd", "LogSumExp": "ReduceLogSumExp",
            "Norm2": "ReduceL2"}.get(op.name)
    if kind is None:
        kind = "ReduceMax" if op.value(3) else "ReduceMin"
    return reduce(b, kind, op.input(0), _axes(op.value(1), x.ndim), op.value(2))


def max_min_dim(b: Builder, op: Any) -> list[str]:
    x = op.array(0)
    dim, keep, is_max = int(op.value(1)) % max(x.ndim, 1), bool(op.value(2)), op.value(3)
    vals = reduce(b, "ReduceMax" if is_max else "ReduceMin", op.input(0), [dim], keep)
    idx = b.node("ArgMax" if is_max else "ArgMin", [op.input(0)], axis=dim, keepdims=int(keep))
    return [vals, idx]


def cumsum(b: Builder, op: Any) -> str:
    x = op.array(0)
    dt = op.value(2)
    src = cast(b, op.input(0), x.dtype, op.out().dtype if dt is None else np_dtype(dt))
    return b.node("CumSum", [src, b.scalar(int(op.value(1)) % x.ndim, "int64")])


def var(b: Builder, op: Any) -> str:
    x = op.array(0)
    axes = _axes(op.value(1), x.ndim)
    dims = op.in_dims(0)
    if any(not isinstance(dims[a], int) for a in axes):
        raise op.unsupported("a variance over a dynamic axis")
    n = 1
    for a in axes:
        n *= dims[a]
    mean = reduce(b, "ReduceMean", op.input(0), axes, True)
    d = b.node("Sub", [op.input(0), mean])
    ss = reduce(b, "ReduceSum", b.node("Mul", [d, d]), axes, op.value(3))
    return b.node("Div", [ss, b.scalar(n - op.value(2), x.dtype)])


def std_sqrt(b: Builder, op: Any) -> str:
    return b.node("Sqrt", [op.input(0)])


def converters() -> dict[type, Any]:
    from ...ops import moments, reduction

    t: dict[type, Any] = {reduction.Sum: sum_, reduction.MaxMinDim: max_min_dim,
                          reduction.Cumsum: cumsum, moments.Var: var, moments.StdSqrt: std_sqrt}
    for cls in (reduction.Mean, reduction.Prod, reduction.LogSumExp, reduction.Norm2,
                reduction.AmaxAmin):
        t[cls] = simple
    return t
