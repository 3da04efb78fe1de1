"""Adafactor (Shazeer & Stern, 2018), as `torch.optim.Adafactor`: Adam-like steps whose second
moment is kept factored (a row and a column mean per matrix) for parameters of 2 dims or more."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ._hyperparams import as_float, check_nonneg
from ._state import bump_scalar, scalar_tensor
from .optimizer import Optimizer

__all__ = ["Adafactor"]


def _lerp_(target, value, weight: float) -> None:
    """target <- lerp(target, value, weight), PyTorch's evaluation (from `value` at weights
    of 0.5 and more)."""
    if weight < 0.5:
        target += (value - target) * weight
    else:
        target[...] = value - (value - target) * (1 - weight)


def _rms(a) -> float:
    xp = backend.get_xp(a)
    return float(xp.sqrt((a.astype(np.float64) ** 2).sum())) / math.sqrt(a.size)


def _adafactor_update(param, grad, row_var, col_var, variance, *, step, lr, beta2_decay,
                      eps1, eps2, d, weight_decay, maximize):
    xp = backend.get_xp(param)
    if maximize:
        grad = -grad
    if eps1 is None:
        eps1 = float(np.finfo(param.dtype).eps)
    one_minus_beta2 = step ** beta2_decay
    rho = min(lr, 1 / step ** 0.5)
    alpha = max(eps2, _rms(param)) * rho
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if grad.ndim > 1:
        sq = grad * grad  # the means of g^2 as PyTorch takes them: squared norms / size
        row_mean = xp.sqrt(sq.sum(axis=-1, keepdims=True)) ** 2 / grad.shape[-1]
        col_mean = xp.sqrt(sq.sum(axis=-2, keepdims=True)) ** 2 / grad.shape[-2]
        _lerp_(row_var, row_mean, one_minus_beta2)
        _lerp_(col_var, col_mean, one_minus_beta2)
        estimate = xp.matmul(row_var, col_var)
        estimate /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        _lerp_(variance, grad * grad, one_minus_beta2)
        estimate = variance.copy()
    update = 1 / xp.sqrt(xp.maximum(estimate, eps1 * eps1))
    update *= grad
    denom = max(1.0, _rms(update) / d)
    param -= update * (alpha / denom)


class Adafactor(Optimizer):
    r"""Adafactor, as `torch.optim.Adafactor` (defaults lr=1e-2, beta2_decay=-0.8,
    eps=(None, 1e-3), d=1.0, weight_decay=0).

    At step t, with \hat\beta_{2,t} = 1 - t^{beta2\_decay}, \rho_t = min(lr, 1/\sqrt t) and
    \alpha_t = max(eps_2, RMS(\theta_{t-1})) \rho_t: for a matrix (or any tensor of 2 dims or
    more) the row and column means of g^2 are averaged into R and C and the second moment is
    estimated as R C / mean(R); for a vector v itself is averaged. The update
    U = g / sqrt(max(v, eps_1^2)) is clipped to RMS d: \theta_t = \theta_{t-1} - \alpha_t U /
    max(1, RMS(U) / d). eps_1 None means the parameter dtype's machine epsilon.

    State per parameter: `step`, and `row_var` and `col_var` (2 dims or more) or `variance`.
    """

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_nonneg("lr", group["lr"], "learning rate")
        if not 0.0 >= group["beta2_decay"]:
            raise ValueError(f"beta2_decay should be <= 0 but is: {group['beta2_decay']}")
        eps1, eps2 = group["eps"]
        if eps1 is not None and not 0.0 <= eps1:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps1}")
        if not 0.0 <= eps2:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps2}")
        if not 1.0 <= group["d"]:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {group['d']}")
        if not 0.0 <= group["weight_decay"]:
            raise ValueError(f"weight_decay should be >= 0 but is: {group['weight_decay']}")

    def _hyper(self, group):
        eps1, eps2 = group["eps"]
        return dict(lr=as_float(group["lr"]), beta2_decay=float(group["beta2_decay"]),
                    eps1=None if eps1 is None else float(eps1), eps2=float(eps2),
                    d=float(group["d"]), weight_decay=float(group["weight_decay"]),
                    maximize=group["maximize"])

    def _prepare(self, p, grad, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = scalar_tensor(0.0)
            xp = backend.get_xp(p._data)
            if grad.ndim > 1:
                row = list(grad.shape)
                row[-1] = 1
                col = list(grad.shape)
                col[-2] = 1
                state["row_var"] = _zeros(xp, row, p)
                state["col_var"] = _zeros(xp, col, p)
            else:
                state["variance"] = _zeros(xp, list(grad.shape), p)
        step = bump_scalar(state["step"])
        row = state.get("row_var")
        col = state.get("col_var")
        var = state.get("variance")
        return (step, id(p)), (p._data, grad, None if row is None else row._data,
                               None if col is None else col._data,
                               None if var is None else var._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _adafactor_update(*arrays, step=key[0], **hyper)


def _zeros(xp, shape, p):
    from ..tensor import Tensor

    return Tensor._make(xp.zeros(shape, dtype=p._data.dtype), p._device)
