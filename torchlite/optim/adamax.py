"""Adamax (Adam with the infinity norm), as `torch.optim.Adamax`."""

from __future__ import annotations

from .. import backend
from ._adam_family import adam_hyper
from ._hyperparams import check_common
from ._inplace import effective_grad, lerp_
from ._state import bump_scalar, lazy_state
from .optimizer import Optimizer

__all__ = ["Adamax"]


def _adamax_update(param, grad, exp_avg, exp_inf, *, step, lr, beta1, beta2, eps, weight_decay,
                   maximize):
    """One Adamax step on raw arrays, in place on `param`, `exp_avg` and `exp_inf`."""
    xp = backend.get_xp(param)
    grad = effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    lerp_(exp_avg, grad, 1 - beta1)
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
        check_common(group)

    def _hyper(self, group):
        return adam_hyper(group)

    def _prepare(self, p, grad, group):
        state = lazy_state(self.state[p], p, "exp_avg", "exp_inf")
        step = bump_scalar(state["step"])
        return step, (p._data, grad, state["exp_avg"]._data, state["exp_inf"]._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _adamax_update(*arrays, step=key, **hyper)
