"""RMSprop, as `torch.optim.RMSprop`."""

from __future__ import annotations

from .. import backend
from ._hyperparams import as_float, check_common, check_nonneg
from ._inplace import effective_grad, lerp_, square_avg_
from ._state import bump_scalar, scalar_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["RMSprop"]


def _rmsprop_update(param, grad, square_avg, grad_avg, buf, *, lr, alpha, eps, weight_decay,
                    momentum, centered, maximize):
    """One RMSprop step on raw arrays, in place. `grad_avg` is None unless `centered`, `buf`
    None unless `momentum > 0`."""
    xp = backend.get_xp(param)
    grad = effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    square_avg_(square_avg, grad, alpha)
    if centered:
        lerp_(grad_avg, grad, 1 - alpha)
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
        check_common(group)
        check_nonneg("momentum", group["momentum"], "momentum value")
        check_nonneg("alpha", group["alpha"], "alpha value")

    def _hyper(self, group):
        return dict(lr=as_float(group["lr"]), alpha=float(group["alpha"]),
                    eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                    momentum=float(group["momentum"]), centered=group["centered"],
                    maximize=group["maximize"])

    def _prepare(self, p, grad, group):
        momentum, centered = float(group["momentum"]), group["centered"]
        state = self.state[p]
        if len(state) == 0:
            state["step"] = scalar_tensor(0.0)
            state["square_avg"] = zeros_state(p)
            if momentum > 0:
                state["momentum_buffer"] = zeros_state(p)
            if centered:
                state["grad_avg"] = zeros_state(p)
        bump_scalar(state["step"])
        return None, (p._data, grad, state["square_avg"]._data,
                      state["grad_avg"]._data if centered else None,
                      state["momentum_buffer"]._data if momentum > 0 else None)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _rmsprop_update(*arrays, **hyper)
