"""Adagrad, as `torch.optim.Adagrad`."""

from __future__ import annotations

from .. import backend
from ..sparse.coalesce import coalesce
from ._hyperparams import as_float, check_common, check_nonneg
from ._inplace import addcmul_, effective_grad
from ._state import bump_scalar, scalar_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["Adagrad"]


def _adagrad_update(param, grad, state_sum, *, step, lr, lr_decay, weight_decay, eps, maximize):
    """One Adagrad step on raw arrays, in place on `param` and `state_sum`."""
    xp = backend.get_xp(param)
    grad = effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    clr = lr / (1 + (step - 1) * lr_decay)
    addcmul_(state_sum, grad, grad, 1.0)
    std = xp.sqrt(state_sum)
    std += eps
    upd = grad * -clr
    upd /= std
    param += upd


class Adagrad(Optimizer):
    r"""Adagrad, as `torch.optim.Adagrad` (defaults lr=1e-2, lr_decay=0, weight_decay=0,
    initial_accumulator_value=0, eps=1e-10).

    Update rule at step t (g_t negated if maximize):

        g_t <- g_t + \lambda \theta_{t-1};   lr_t = lr / (1 + (t - 1) lr_decay)
        s_t = s_{t-1} + g_t^2   (s_0 = initial_accumulator_value)
        \theta_t = \theta_{t-1} - lr_t g_t / (\sqrt{s_t} + eps)

    Sparse gradients update only their rows (no weight decay with them, as PyTorch).
    State per parameter: `step`, `sum`; created when the optimizer is built, as in PyTorch
    (and on the first step for groups added later, where PyTorch fails). Each group's own
    `initial_accumulator_value` is used (PyTorch uses the constructor's for every group).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group) -> None:
        state = self.state[p]
        state["step"] = scalar_tensor(0.0)
        state["sum"] = zeros_state(p, float(group["initial_accumulator_value"]))

    def _validate_group(self, group) -> None:
        check_common(group)
        check_nonneg("lr_decay", group["lr_decay"], "lr_decay value")
        check_nonneg("initial_accumulator_value", group["initial_accumulator_value"],
                     "initial_accumulator_value value")

    def _hyper(self, group):
        return dict(lr=as_float(group["lr"]), lr_decay=float(group["lr_decay"]),
                    weight_decay=float(group["weight_decay"]), eps=float(group["eps"]),
                    maximize=group["maximize"])

    def _prepare(self, p, grad, group):
        state = self.state[p]
        if len(state) == 0:  # a group added after construction
            self._init_state(p, group)
        return bump_scalar(state["step"]), (p._data, grad, state["sum"]._data)

    def _step_sparse(self, p, grad, group, hyper) -> None:
        """A sparse gradient updates only its (coalesced) rows' sums and values, as PyTorch."""
        if hyper["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        state = self.state[p]
        if len(state) == 0:
            self._init_state(p, group)
        step = bump_scalar(state["step"])
        clr = hyper["lr"] / (1 + (step - 1) * hyper["lr_decay"])
        g = coalesce(grad)
        values = -g.values if hyper["maximize"] else g.values
        if values.size == 0:
            return
        key = tuple(g.indices)
        state_sum = state["sum"]._data
        state_sum[key] += values * values
        std = backend.get_xp(values).sqrt(state_sum[key])
        std += hyper["eps"]
        upd = values / std
        p._data[key] += upd * upd.dtype.type(-clr)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _adagrad_update(*arrays, step=key, **hyper)
