"""Adadelta, as `torch.optim.Adadelta`."""

from __future__ import annotations

from .. import backend
from ._hyperparams import as_float, check_common, check_number
from ._inplace import effective_grad, square_avg_
from ._state import bump_scalar, lazy_state
from .optimizer import Optimizer

__all__ = ["Adadelta"]


def _adadelta_update(param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay,
                     maximize):
    """One Adadelta step on raw arrays, in place on `param`, `square_avg` and `acc_delta`."""
    xp = backend.get_xp(param)
    grad = effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    square_avg_(square_avg, grad, rho)
    std = square_avg + eps
    xp.sqrt(std, out=std)
    delta = acc_delta + eps
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= grad
    square_avg_(acc_delta, delta, rho)
    param -= lr * delta


class Adadelta(Optimizer):
    r"""Adadelta, as `torch.optim.Adadelta` (defaults lr=1.0, rho=0.9, eps=1e-6, weight_decay=0).

    Update rule (g_t negated if maximize, plus \lambda \theta_{t-1} with weight decay):

        v_t = \rho v_{t-1} + (1 - \rho) g_t^2
        \Delta x_t = \sqrt{u_{t-1} + eps} / \sqrt{v_t + eps} \, g_t
        u_t = \rho u_{t-1} + (1 - \rho) \Delta x_t^2;   \theta_t = \theta_{t-1} - lr \Delta x_t

    State per parameter: `step`, `square_avg` (v), `acc_delta` (u).
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_common(group)
        if not 0.0 <= check_number("rho", group["rho"], "rho value") <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']} (rho must be in [0, 1])")

    def _hyper(self, group):
        return dict(lr=as_float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]), maximize=group["maximize"])

    def _prepare(self, p, grad, group):
        state = lazy_state(self.state[p], p, "square_avg", "acc_delta")
        bump_scalar(state["step"])
        return None, (p._data, grad, state["square_avg"]._data, state["acc_delta"]._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _adadelta_update(*arrays, **hyper)
