"""Adam (and its AMSGrad variant), as `torch.optim.Adam`."""

from __future__ import annotations

from .. import backend
from ..autograd.grad_mode import no_grad
from ._helpers import (
    _adam_hyper,
    _adam_moments_,
    _bump_scalar,
    _check_common,
    _decayed_grad,
    _grads_of,
    _lazy_state,
)
from .optimizer import Optimizer

__all__ = ["Adam"]


def _adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2,
                 eps, weight_decay, amsgrad, maximize, decoupled_weight_decay):
    """One Adam step on raw arrays, in place on `param` and the moment buffers.

    `step` is the step count after this step (1 on the first one); `max_exp_avg_sq` is None
    unless `amsgrad`.
    """
    xp = backend.get_xp(param)
    grad = _decayed_grad(param, grad, maximize=maximize, weight_decay=weight_decay, lr=lr,
                         decoupled=decoupled_weight_decay)
    _adam_moments_(exp_avg, exp_avg_sq, grad, beta1, beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = xp.sqrt(max_exp_avg_sq)
    else:
        denom = xp.sqrt(exp_avg_sq)
    denom /= bias_correction2**0.5
    denom += eps
    upd = exp_avg * -step_size
    upd /= denom
    param += upd


class Adam(Optimizer):
    r"""Adam, as `torch.optim.Adam` (defaults lr=1e-3, betas=(0.9, 0.999), eps=1e-8).

    Update rule at step t, gradient g_t (negated if maximize):

        g_t <- g_t + \lambda \theta_{t-1}   (weight_decay \lambda; or, decoupled,
                                              \theta_{t-1} <- \theta_{t-1} (1 - lr \lambda))
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t;   v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2
        v_t^max = max(v_{t-1}^max, v_t) if amsgrad (used in place of v_t below)
        \theta_t = \theta_{t-1} - lr / (1 - \beta_1^t) * m_t
                                  / (\sqrt{v_t} / \sqrt{1 - \beta_2^t} + eps)

    State per parameter: `step` (0-d float32 CPU tensor), `exp_avg`, `exp_avg_sq` and, with
    amsgrad, `max_exp_avg_sq`. `foreach`, `capturable` and `fused` are accepted for
    compatibility and change nothing.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        _check_common(group)

    @no_grad()
    def step(self, closure=None):
        """Perform one Adam step; returns the closure's loss (or None)."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            amsgrad = group["amsgrad"]
            hyper = _adam_hyper(group, amsgrad=amsgrad,
                                decoupled_weight_decay=group["decoupled_weight_decay"])
            buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            for p, grad in _grads_of(group):
                state = _lazy_state(self.state[p], p, *buffers)
                step = _bump_scalar(state["step"])
                max_sq = state["max_exp_avg_sq"]._data if amsgrad else None
                _adam_update(p._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                             max_sq, step=step, **hyper)
                p._bump()
        return loss
