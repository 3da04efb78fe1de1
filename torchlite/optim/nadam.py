"""NAdam (Adam with Nesterov momentum), as `torch.optim.NAdam`."""

from __future__ import annotations

from .. import backend
from ._adam_family import adam_grad, adam_hyper, adam_moments_
from ._hyperparams import check_common, check_nonneg
from ._state import bump_scalar, lazy_state
from .optimizer import Optimizer

__all__ = ["NAdam"]


def _nadam_update(param, grad, exp_avg, exp_avg_sq, mu_product, *, step, lr, beta1, beta2, eps,
                  weight_decay, momentum_decay, decoupled_weight_decay, maximize):
    """One NAdam step on raw arrays, in place on `param`, the moments and `mu_product` (a 0-d
    float32 array: the running product of the momentum coefficients, kept in float32 as
    PyTorch keeps it)."""
    xp = backend.get_xp(param)
    grad = adam_grad(param, grad, lr=lr, weight_decay=weight_decay,
                     decoupled=decoupled_weight_decay, maximize=maximize)
    bias_correction2 = 1 - beta2**step
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product *= mu
    prod = float(mu_product)
    prod_next = prod * mu_next
    adam_moments_(exp_avg, exp_avg_sq, grad, beta1, beta2)
    denom = exp_avg_sq / bias_correction2
    xp.sqrt(denom, out=denom)
    denom += eps
    upd = grad * (-lr * (1.0 - mu) / (1.0 - prod))
    upd /= denom
    param += upd
    upd = exp_avg * ((-lr * mu_next) / (1.0 - prod_next))
    upd /= denom
    param += upd


class NAdam(Optimizer):
    r"""NAdam, as `torch.optim.NAdam` (defaults lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, momentum_decay=4e-3, decoupled_weight_decay=False).

    Update rule at step t (g_t negated if maximize; weight decay as in Adam/AdamW):

        \mu_t = \beta_1 (1 - 0.5 \cdot 0.96^{t \psi}),   \mu_{t+1} likewise  (\psi: momentum_decay)
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t;   v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2
        \theta_t = \theta_{t-1} - lr (1 - \mu_t) / (1 - \prod_{i \le t} \mu_i) g_t / d_t
                                - lr \mu_{t+1} / (1 - \prod_{i \le t+1} \mu_i) m_t / d_t,
        d_t = \sqrt{v_t / (1 - \beta_2^t)} + eps

    State per parameter: `step`, `mu_product` (0-d float32 CPU tensors), `exp_avg`, `exp_avg_sq`.
    """

    _scalar_state_keys = ("step", "mu_product")

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_common(group)
        check_nonneg("momentum_decay", group["momentum_decay"], "momentum_decay value")

    def _hyper(self, group):
        return adam_hyper(group, momentum_decay=float(group["momentum_decay"]),
                          decoupled_weight_decay=group["decoupled_weight_decay"])

    def _prepare(self, p, grad, group):
        state = lazy_state(self.state[p], p, "exp_avg", "exp_avg_sq", mu_product=1.0)
        step = bump_scalar(state["step"])
        return step, (p._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                      state["mu_product"]._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _nadam_update(*arrays, step=key, **hyper)
