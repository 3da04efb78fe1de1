"""Resilient backpropagation, as `torch.optim.Rprop`."""

from __future__ import annotations

from .. import backend
from ._hyperparams import as_float, check_differentiable, check_lr, check_number
from ._inplace import effective_grad
from ._state import bump_scalar, scalar_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["Rprop"]


def _rprop_update(param, grad, prev, step_size, *, etaminus, etaplus, step_size_min,
                  step_size_max, maximize):
    """One Rprop step on raw arrays, in place on `param`, `prev` and `step_size`."""
    xp = backend.get_xp(param)
    grad = effective_grad(param, grad, maximize=maximize, weight_decay=0.0)
    prod = grad * prev
    flipped = prod < 0
    factor = xp.ones_like(step_size)
    xp.copyto(factor, etaplus, where=prod > 0)
    xp.copyto(factor, etaminus, where=flipped)
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    grad = grad.copy()
    xp.copyto(grad, 0, where=flipped)  # after a sign change: skip this move, forget the gradient
    upd = xp.sign(grad)
    upd *= step_size
    param -= upd
    prev[...] = grad


class Rprop(Optimizer):
    r"""Rprop, as `torch.optim.Rprop` (defaults lr=1e-2, etas=(0.5, 1.2),
    step_sizes=(1e-6, 50)).

    Update rule, per element (g_t negated if maximize):

        \eta_t = \eta_+ if g_t g_{t-1} > 0, \eta_- if g_t g_{t-1} < 0, else 1
        s_t = clip(\eta_t s_{t-1}, step_min, step_max)   (s_0 = lr)
        g_t <- 0 where g_t g_{t-1} < 0;   \theta_t = \theta_{t-1} - sign(g_t) s_t

    State per parameter: `step`, `prev` (the previous, possibly zeroed, gradient), `step_size`.
    """

    def __init__(self, params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_lr(group["lr"])
        etas, sizes = tuple(group["etas"]), tuple(group["step_sizes"])
        if len(etas) != 2 or not 0.0 < check_number("etas[0]", etas[0], "eta values") < 1.0 \
                < check_number("etas[1]", etas[1], "eta values"):
            raise ValueError(f"Invalid eta values: {etas} (etas must satisfy 0 < etas[0] < 1 < "
                             "etas[1])")
        if len(sizes) != 2:
            raise ValueError(f"Invalid step_sizes: {sizes} (step_sizes must be a pair)")
        lo = check_number("step_sizes[0]", sizes[0], "step size")
        hi = check_number("step_sizes[1]", sizes[1], "step size")
        if not 0.0 <= lo <= hi:
            raise ValueError(f"Invalid step_sizes: {sizes} (need 0 <= step_sizes[0] <= "
                             "step_sizes[1])")
        check_differentiable(group)

    def _hyper(self, group):
        etaminus, etaplus = group["etas"]
        step_min, step_max = group["step_sizes"]
        return dict(etaminus=float(etaminus), etaplus=float(etaplus),
                    step_size_min=float(step_min), step_size_max=float(step_max),
                    maximize=group["maximize"])

    def _prepare(self, p, grad, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = scalar_tensor(0.0)
            state["prev"] = zeros_state(p)
            state["step_size"] = zeros_state(p, as_float(group["lr"]))
        bump_scalar(state["step"])
        return None, (p._data, grad, state["prev"]._data, state["step_size"]._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _rprop_update(*arrays, **hyper)
