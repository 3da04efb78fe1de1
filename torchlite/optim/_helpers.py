"""Helpers shared by the optimizers: state buffers, scalar state, validation, in-place math.

The math helpers work on raw arrays (numpy or cupy) in place, in PyTorch's order of operations.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor


def _scalar_tensor(value=0.0) -> Tensor:
    """A 0-d CPU tensor for `step` and other scalar state, as PyTorch keeps them: float32, or
    float64 when that is the default dtype. On the CPU, reading it never syncs a GPU."""
    if isinstance(value, Tensor):
        value = backend.move(value._data, backend.CPU)
    dt = np.float64 if backend.get_default_dtype() is backend.float64 else np.float32
    return Tensor._make(np.array(value, dtype=dt).reshape(()).copy(), backend.CPU)


def _bump_scalar(t: Tensor, by: float = 1.0) -> float:
    """Add to a 0-d state tensor in place (in its own dtype) and return the new value."""
    np.add(t._data, by, out=t._data)
    return float(t._data)


def _zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
    """A buffer shaped, typed and placed like parameter `p`."""
    xp = backend.get_xp(p._data)
    if fill == 0.0:
        arr = xp.zeros_like(p._data)
    else:
        arr = xp.full_like(p._data, fill)
    return Tensor._make(arr, p._device)


def _value(x) -> float:
    """A hyper-parameter as a Python float (a 1-element Tensor is read once)."""
    if isinstance(x, Tensor):
        return float(x.item())
    return float(x)


def _check_number(name: str, value, what: str | None = None) -> float:
    """Reject NaN and non-numbers; return the value as a float."""
    try:
        v = _value(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {what or name}: {value!r} ({name} must be a number)") from None
    if math.isnan(v):
        raise ValueError(f"Invalid {what or name}: {value} ({name} must not be NaN)")
    return v


def _check_nonneg(name: str, value, what: str | None = None) -> None:
    if isinstance(value, Tensor) and value.numel() != 1:
        raise ValueError(f"Tensor {name} must be 1-element")
    if _check_number(name, value, what) < 0.0:
        raise ValueError(f"Invalid {what or name}: {value} ({name} must be >= 0)")


def _check_lr(lr) -> None:
    _check_nonneg("lr", lr, "learning rate")


def _check_betas(betas) -> None:
    try:
        b = tuple(betas)
    except TypeError:
        raise ValueError(f"Invalid betas: {betas!r} (betas must be a pair of floats)") from None
    if len(b) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (betas must be a pair of floats)")
    for i, beta in enumerate(b):
        v = _check_number(f"betas[{i}]", beta, f"beta parameter at index {i}")
        if not 0.0 <= v < 1.0:
            raise ValueError(
                f"Invalid beta parameter at index {i}: {beta} (betas[{i}] must be in [0, 1))"
            )


def _check_common(group: dict[str, Any]) -> None:
    """lr, eps, weight_decay and betas, where the group has them; flags that we do not support."""
    if "lr" in group:
        _check_lr(group["lr"])
    for name, what in (("eps", "epsilon value"), ("weight_decay", "weight_decay value")):
        if name in group:
            _check_nonneg(name, group[name], what)
    if "betas" in group:
        _check_betas(group["betas"])
    if group.get("differentiable"):
        raise ValueError(
            "differentiable=True is not supported by torchlite optimizers (differentiable)"
        )


def _grads_of(group: dict[str, Any]):
    """The (param, grad array) pairs of a group, skipping parameters without a gradient."""
    for p in group["params"]:
        g = p.grad
        if g is not None:
            yield p, g._data


def _lerp_(start, end, weight: float) -> None:
    """start <- start + weight * (end - start), in place, evaluated the way PyTorch's lerp is
    (from `end` when weight >= 0.5, which keeps the result exact at weight 1)."""
    diff = end - start
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1.0 - weight
        backend.get_xp(start).subtract(end, diff, out=start)


def _addcmul_(target, a, b, value: float) -> None:
    """target <- target + value * a * b, in place (PyTorch's addcmul_ order)."""
    tmp = a * value
    tmp *= b
    target += tmp


def _decayed_grad(param, grad, *, maximize: bool, weight_decay: float, lr: float = 0.0,
                  decoupled: bool = False):
    """The gradient an update uses: negated if `maximize`, plus `weight_decay * param` (L2).

    With `decoupled` (AdamW-style) the decay shrinks `param` in place instead,
    `param *= 1 - lr * weight_decay`, and the gradient is left alone. `grad` itself is never
    changed in place (it is the parameter's `.grad`).
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    return grad


def _effective_grad(xp, p, g, a, b, *, maximize: bool, l2: float):
    """The gradient an update uses, written into scratch `a` when it differs from `g`: negated
    if `maximize`, plus `l2 * p` (L2 weight decay, PyTorch's `grad.add(param, alpha=l2)`).
    `b` is scratch too; `g` itself (the parameter's `.grad`) is never changed."""
    if maximize:
        xp.negative(g, out=a)
        g = a
    if l2:
        xp.multiply(p, l2, out=b)
        if g is a:
            a += b
        else:
            xp.add(g, b, out=a)
        g = a
    return g


def _square_avg_(avg, x, decay: float) -> None:
    """avg <- decay * avg + (1 - decay) * x * x, in place (PyTorch's mul_ then addcmul_)."""
    avg *= decay
    _addcmul_(avg, x, x, 1 - decay)


def _adam_moments_(exp_avg, exp_avg_sq, grad, beta1: float, beta2: float) -> None:
    """Adam's running moments, in place: exp_avg <- lerp(exp_avg, grad, 1 - beta1) and
    exp_avg_sq <- beta2 * exp_avg_sq + (1 - beta2) * grad^2."""
    _lerp_(exp_avg, grad, 1 - beta1)
    _square_avg_(exp_avg_sq, grad, beta2)


def _adam_hyper(group: dict[str, Any], **extra) -> dict[str, Any]:
    """The hyper-parameters the Adam family shares (lr, beta1, beta2, eps, weight_decay,
    maximize), as Python numbers (a NumPy float64 would promote float32 buffers), plus `extra`."""
    beta1, beta2 = group["betas"]
    return dict(lr=_value(group["lr"]), beta1=_value(beta1), beta2=_value(beta2),
                eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                maximize=group["maximize"], **extra)


def _lazy_state(state: dict[str, Any], p: Tensor, *buffers: str, **scalars) -> dict[str, Any]:
    """A parameter's state, filled on first use: `step` (a 0-d tensor at 0), then the given
    scalar 0-d tensors, then a zero buffer like `p` for each name in `buffers`, in that order
    (the order `state_dict` shows). A state already filled is returned as it is."""
    if len(state) == 0:
        state["step"] = _scalar_tensor(0.0)
        for name, value in scalars.items():
            state[name] = _scalar_tensor(value)
        for name in buffers:
            state[name] = _zeros_state(p)
    return state
