"""Hyper-parameters: reading them as Python numbers and validating them as PyTorch does, with a
message that names the argument."""

from __future__ import annotations

import math
from typing import Any

from ..tensor import Tensor


def as_float(x) -> float:
    """A hyper-parameter as a Python float (a 1-element Tensor is read once). Python floats
    keep float32 buffers float32, where a NumPy float64 would promote them."""
    if isinstance(x, Tensor):
        return float(x.item())
    return float(x)


def check_number(name: str, value, what: str | None = None) -> float:
    """Reject NaN and non-numbers; return the value as a float."""
    try:
        v = as_float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {what or name}: {value!r} ({name} must be a number)") from None
    if math.isnan(v):
        raise ValueError(f"Invalid {what or name}: {value} ({name} must not be NaN)")
    return v


def check_nonneg(name: str, value, what: str | None = None) -> None:
    """A number >= 0 (a Tensor must have one element)."""
    if isinstance(value, Tensor) and value.numel() != 1:
        raise ValueError(f"Tensor {name} must be 1-element")
    if check_number(name, value, what) < 0.0:
        raise ValueError(f"Invalid {what or name}: {value} ({name} must be >= 0)")


def check_lr(lr) -> None:
    """A learning rate >= 0."""
    check_nonneg("lr", lr, "learning rate")


def check_betas(betas) -> None:
    """A pair of numbers in [0, 1)."""
    try:
        b = tuple(betas)
    except TypeError:
        raise ValueError(f"Invalid betas: {betas!r} (betas must be a pair of floats)") from None
    if len(b) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (betas must be a pair of floats)")
    for i, beta in enumerate(b):
        v = check_number(f"betas[{i}]", beta, f"beta parameter at index {i}")
        if not 0.0 <= v < 1.0:
            raise ValueError(
                f"Invalid beta parameter at index {i}: {beta} (betas[{i}] must be in [0, 1))"
            )


def check_differentiable(group: dict[str, Any]) -> None:
    """Refuse `differentiable=True`: torchlite's steps update raw arrays, outside any graph."""
    if group.get("differentiable"):
        raise ValueError(
            "differentiable=True is not supported by torchlite optimizers (differentiable)"
        )


def check_common(group: dict[str, Any]) -> None:
    """lr, eps, weight_decay and betas, where the group has them; flags that we do not support."""
    if "lr" in group:
        check_lr(group["lr"])
    for name, what in (("eps", "epsilon value"), ("weight_decay", "weight_decay value")):
        if name in group:
            check_nonneg(name, group[name], what)
    if "betas" in group:
        check_betas(group["betas"])
    check_differentiable(group)
