"""Adamax (Adam with the infinity norm), as `torch.optim.Adamax`."""

from __future__ import annotations

from .. import backend
from ..autograd.grad_mode import no_grad
from ._helpers import (
    _adam_hyper,
    _bump_scalar,
    _check_common,
    _decayed_grad,
    _grads_of,
    _lazy_state,
    _lerp_,
)
from .optimizer import Optimizer

__all__ = ["Adamax"]


def _adamax_update(param, grad, exp_avg, exp_inf, *, step, lr, beta1, beta2, eps, weight_decay,
                   maximize):
    """One Adamax step on raw arrays, in place on `param`, `exp_avg` and `exp_inf`."""
    xp = backend.get_xp(param)
    grad = _decayed_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    _lerp_(exp_avg, grad, 1 - beta1)
    exp_inf *= beta2
    norm = xp.abs(grad)
    norm += eps
    xp.maximum(exp_inf, norm, out=exp_inf)
    clr = lr / (1 - beta1**step)
    upd = exp_avg * -clr
    upd /= exp_inf
    param += upd


class Adamax(Optimizer):
    r"""Adamax, as `torch.optim.Adamax` (defaults lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0).

    Update rule at step t (g_t negated if maximize, plus \lambda \theta_{t-1} with weight decay):

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t;   u_t = max(\beta_2 u_{t-1}, |g_t| + eps)
        \theta_t = \theta_{t-1} - lr / (1 - \beta_1^t) * m_t / u_t

    State per parameter: `step`, `exp_avg`, `exp_inf`.
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        _check_common(group)

    @no_grad()
    def step(self, closure=None):
        """Perform one Adamax step; returns the closure's loss (or None)."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            hyper = _adam_hyper(group)
            for p, grad in _grads_of(group):
                state = _lazy_state(self.state[p], p, "exp_avg", "exp_inf")
                step = _bump_scalar(state["step"])
                _adamax_update(p._data, grad, state["exp_avg"]._data, state["exp_inf"]._data,
                               step=step, **hyper)
                p._bump()
        return loss
