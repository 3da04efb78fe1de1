"""Averaged stochastic gradient descent, as `torch.optim.ASGD`."""

from __future__ import annotations

from ._hyperparams import as_float, check_common, check_number
from ._inplace import effective_grad
from ._state import bump_scalar, lazy_state
from .optimizer import Optimizer

__all__ = ["ASGD"]


def _asgd_update(param, grad, ax, eta, mu, *, step, lr, lambd, alpha, t0, weight_decay, maximize):
    """One ASGD step on raw arrays, in place on `param` and the average `ax`.

    `eta` and `mu` are 0-d float32 arrays (the current step size and averaging weight, kept in
    float32 as PyTorch keeps them); they are updated for the next step.
    """
    grad = effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    eta_value = float(eta)
    param *= 1 - lambd * eta_value
    param -= eta_value * grad
    mu_value = mu.item()
    if mu_value != 1:
        diff = param - ax
        diff *= mu_value
        ax += diff
    else:
        ax[...] = param
    eta[...] = lr / ((1 + lambd * lr * step) ** alpha)
    mu[...] = 1 / max(1, step - t0)


class ASGD(Optimizer):
    r"""Averaged SGD, as `torch.optim.ASGD` (defaults lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6,
    weight_decay=0).

    Update rule at step t (g_t negated if maximize, plus \lambda_{wd} \theta_{t-1}):

        \theta_t = \theta_{t-1} (1 - \lambda \eta_t) - \eta_t g_t
        ax_t = ax_{t-1} + \mu_t (\theta_t - ax_{t-1})   (ax_t = \theta_t while \mu_t = 1)
        \eta_{t+1} = lr / (1 + \lambda lr t)^\alpha;    \mu_{t+1} = 1 / max(1, t - t_0)

    State per parameter: `step`, `eta`, `mu` (0-d float32 CPU tensors) and `ax`, the averaged
    parameter (read it to evaluate the averaged model). PyTorch keeps `step`, `eta` and `mu` on
    the parameter's device; torchlite keeps them on the CPU, so reading them never syncs a GPU.
    """

    _scalar_state_keys = ("step", "eta", "mu")

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_common(group)
        for name in ("lambd", "alpha", "t0"):
            check_number(name, group[name], f"{name} value")

    def _hyper(self, group):
        return dict(lr=as_float(group["lr"]), lambd=float(group["lambd"]),
                    alpha=float(group["alpha"]), t0=float(group["t0"]),
                    weight_decay=float(group["weight_decay"]), maximize=group["maximize"])

    def _prepare(self, p, grad, group):
        state = self.state[p]
        if len(state) == 0:  # eta starts at lr
            lazy_state(state, p, "ax", eta=as_float(group["lr"]), mu=1.0)
        step = bump_scalar(state["step"])
        return step, (p._data, grad, state["ax"]._data, state["eta"]._data, state["mu"]._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _asgd_update(*arrays, step=key, **hyper)
