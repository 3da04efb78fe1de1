"""RAdam (rectified Adam), as `torch.optim.RAdam`."""

from __future__ import annotations

from .. import backend
from ._adam_family import adam_grad, adam_hyper, adam_moments_
from ._hyperparams import check_common
from ._state import bump_scalar, lazy_state
from .optimizer import Optimizer

__all__ = ["RAdam"]


def _radam_update(param, grad, exp_avg, exp_avg_sq, *, step, lr, beta1, beta2, eps, weight_decay,
                  decoupled_weight_decay, maximize):
    """One RAdam step on raw arrays, in place on `param` and the moment buffers."""
    xp = backend.get_xp(param)
    grad = adam_grad(param, grad, lr=lr, weight_decay=weight_decay,
                     decoupled=decoupled_weight_decay, maximize=maximize)
    adam_moments_(exp_avg, exp_avg_sq, grad, beta1, beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    upd = exp_avg / bias_correction1
    upd *= lr
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho_t > 5.0:
        # the variance is tractable: scale by the adaptive lr and the rectification term
        adaptive = xp.sqrt(exp_avg_sq)
        adaptive += eps
        xp.divide(bias_correction2**0.5, adaptive, out=adaptive)
        upd *= adaptive
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        upd *= rect**0.5
    param -= upd


class RAdam(Optimizer):
    r"""RAdam, as `torch.optim.RAdam` (defaults lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, decoupled_weight_decay=False).

    Update rule at step t (g_t negated if maximize; weight decay as in Adam/AdamW):

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t;   v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2
        \hat m_t = m_t / (1 - \beta_1^t);  \rho_\infty = 2 / (1 - \beta_2) - 1
        \rho_t = \rho_\infty - 2 t \beta_2^t / (1 - \beta_2^t)
        if \rho_t > 5:  l_t = \sqrt{1 - \beta_2^t} / (\sqrt{v_t} + eps),
                        r_t = \sqrt{(\rho_t - 4)(\rho_t - 2)\rho_\infty /
                                    ((\rho_\infty - 4)(\rho_\infty - 2)\rho_t)}
                        \theta_t = \theta_{t-1} - lr \hat m_t l_t r_t
        else:           \theta_t = \theta_{t-1} - lr \hat m_t

    State per parameter: `step`, `exp_avg`, `exp_avg_sq`.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_common(group)

    def _hyper(self, group):
        return adam_hyper(group, decoupled_weight_decay=group["decoupled_weight_decay"])

    def _prepare(self, p, grad, group):
        state = lazy_state(self.state[p], p, "exp_avg", "exp_avg_sq")
        step = bump_scalar(state["step"])
        return step, (p._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _radam_update(*arrays, step=key, **hyper)
