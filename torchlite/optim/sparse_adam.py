"""SparseAdam, as `torch.optim.SparseAdam`: lazy Adam for sparse gradients.

A sparse gradient (Embedding(sparse=True), EmbeddingBag(sparse=True)) is coalesced and only
the rows it holds have their moments and values updated, with PyTorch's arithmetic step by step.
A dense gradient is accepted too (PyTorch raises): torchlite reads it as "the entries that are
non-zero", which is what PyTorch does with `grad.to_sparse()`.
"""

from __future__ import annotations

import math

from .. import backend
from ..sparse.coalesce import coalesce
from ._hyperparams import as_float, check_betas, check_number
from ._inplace import effective_grad
from ._state import zeros_state
from .optimizer import Optimizer

__all__ = ["SparseAdam"]


def _sparse_adam_update(param, grad, exp_avg, exp_avg_sq, *, step, lr, beta1, beta2, eps,
                        maximize):
    """One lazy Adam step on raw arrays: only the entries the gradient holds change (a COO
    gradient's coalesced indices; a dense gradient's non-zero entries)."""
    if hasattr(grad, "indices"):  # COO storage
        g = coalesce(grad)  # the update is not linear: every index once
        mask = tuple(g.indices)
        values = -g.values if maximize else g.values
    else:
        grad = effective_grad(param, grad, maximize=maximize, weight_decay=0.0)
        mask = grad != 0
        values = grad[mask]
    if values.size == 0:
        return
    old_avg = exp_avg[mask]
    avg_upd = values - old_avg
    avg_upd *= 1 - beta1
    old_sq = exp_avg_sq[mask]
    sq_upd = values * values
    sq_upd -= old_sq
    sq_upd *= 1 - beta2
    numer = avg_upd + old_avg
    denom = sq_upd + old_sq
    exp_avg[mask] = numer
    exp_avg_sq[mask] = denom
    backend.get_xp(denom).sqrt(denom, out=denom)
    denom += eps
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr * math.sqrt(bias_correction2) / bias_correction1
    numer /= denom
    numer *= -step_size
    param[mask] += numer


class SparseAdam(Optimizer):
    r"""Masked Adam for (semantically) sparse gradients, as `torch.optim.SparseAdam` (defaults
    lr=1e-3, betas=(0.9, 0.999), eps=1e-8).

    On the entries i of the gradient (g_t negated if maximize):

        m_i <- m_i + (1 - \beta_1)(g_i - m_i);   v_i <- v_i + (1 - \beta_2)(g_i^2 - v_i)
        \theta_i <- \theta_i - lr \sqrt{1 - \beta_2^t} / (1 - \beta_1^t) * m_i / (\sqrt{v_i} + eps)

    on the entries i a sparse gradient holds (after coalescing). Other entries keep their moments
    and values. `t` counts this parameter's steps. State per parameter: `step` (a Python int, as
    in PyTorch), `exp_avg`, `exp_avg_sq`.

    Deviation from PyTorch: dense gradients are accepted (PyTorch raises) and masked by their
    non-zero entries; see the module docstring.
    """

    _scalar_state_keys = ()

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        if not check_number("lr", group["lr"], "learning rate") > 0.0:
            raise ValueError(f"Invalid learning rate: {group['lr']} (lr must be > 0)")
        if not check_number("eps", group["eps"], "epsilon value") > 0.0:
            raise ValueError(f"Invalid epsilon value: {group['eps']} (eps must be > 0)")
        check_betas(group["betas"])
        for p in group["params"]:
            if p._data.dtype.kind == "c":
                raise ValueError("SparseAdam does not support complex parameters (params)")

    def _hyper(self, group):
        beta1, beta2 = group["betas"]
        return dict(lr=as_float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
                    eps=float(group["eps"]), maximize=group.get("maximize", False))

    def _prepare(self, p, grad, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = 0
            state["exp_avg"] = zeros_state(p)
            state["exp_avg_sq"] = zeros_state(p)
        state["step"] = int(state["step"]) + 1
        return state["step"], (p._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data)

    def _update(self, entries, key, hyper) -> None:
        for arrays in entries:
            _sparse_adam_update(*arrays, step=key, **hyper)

    def _step_sparse(self, p, grad, group, hyper) -> None:
        key, arrays = self._prepare(p, grad, group)
        self._update([arrays], key, hyper)
