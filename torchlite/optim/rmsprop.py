"""RMSprop, as `torch.optim.RMSprop`."""

from __future__ import annotations

from .. import backend
from ..autograd.grad_mode import no_grad
from ._helpers import (
    _bump_scalar,
    _check_common,
    _check_nonneg,
    _decayed_grad,
    _grads_of,
    _lerp_,
    _scalar_tensor,
    _square_avg_,
    _value,
    _zeros_state,
)
from .optimizer import Optimizer

__all__ = ["RMSprop"]


def _rmsprop_update(param, grad, square_avg, grad_avg, buf, *, lr, alpha, eps, weight_decay,
                    momentum, centered, maximize):
    """One RMSprop step on raw arrays, in place. `grad_avg` is None unless `centered`, `buf`
    None unless `momentum > 0`."""
    xp = backend.get_xp(param)
    grad = _decayed_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    _square_avg_(square_avg, grad, alpha)
    if centered:
        _lerp_(grad_avg, grad, 1 - alpha)
        avg = grad_avg * -1.0
        avg *= grad_avg
        avg += square_avg
        xp.sqrt(avg, out=avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        upd = grad * -lr
        upd /= avg
        param += upd


class RMSprop(Optimizer):
    r"""RMSprop, as `torch.optim.RMSprop` (defaults lr=1e-2, alpha=0.99, eps=1e-8,
    weight_decay=0, momentum=0, centered=False).

    Update rule (g_t negated if maximize, plus \lambda \theta_{t-1} with weight decay):

        v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2
        centered: \bar g_t = \alpha \bar g_{t-1} + (1 - \alpha) g_t,  \tilde v_t = v_t - \bar g_t^2
        b_t = \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + eps);  \theta_t = \theta_{t-1} - lr b_t
        (without momentum: \theta_t = \theta_{t-1} - lr g_t / (\sqrt{\tilde v_t} + eps))

    State per parameter: `step`, `square_avg`, `momentum_buffer` (momentum > 0), `grad_avg`
    (centered).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        _check_common(group)
        _check_nonneg("momentum", group["momentum"], "momentum value")
        _check_nonneg("alpha", group["alpha"], "alpha value")

    @no_grad()
    def step(self, closure=None):
        """Perform one RMSprop step; returns the closure's loss (or None)."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            momentum, centered = float(group["momentum"]), group["centered"]
            hyper = dict(lr=_value(group["lr"]), alpha=float(group["alpha"]),
                         eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                         momentum=momentum, centered=centered, maximize=group["maximize"])
            for p, grad in _grads_of(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_tensor(0.0)
                    state["square_avg"] = _zeros_state(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_state(p)
                    if centered:
                        state["grad_avg"] = _zeros_state(p)
                _bump_scalar(state["step"])
                _rmsprop_update(
                    p._data, grad, state["square_avg"]._data,
                    state["grad_avg"]._data if centered else None,
                    state["momentum_buffer"]._data if momentum > 0 else None, **hyper)
                p._bump()
        return loss
