"""What Adam, AdamW, NAdam and RAdam share (Adamax its hyper-parameters): the weight decay,
plain or decoupled, and the running moments, each written once over raw arrays in PyTorch's
order of operations. Each algorithm's file then turns the moments into its own step."""

from __future__ import annotations

from typing import Any

from ._hyperparams import as_float
from ._inplace import effective_grad, lerp_, square_avg_


def adam_hyper(group: dict[str, Any], **extra) -> dict[str, Any]:
    """The hyper-parameters the family shares (lr, beta1, beta2, eps, weight_decay, maximize),
    as Python numbers, plus `extra`."""
    beta1, beta2 = group["betas"]
    return dict(lr=as_float(group["lr"]), beta1=as_float(beta1), beta2=as_float(beta2),
                eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                maximize=group["maximize"], **extra)


def adam_grad(param, grad, *, lr: float, weight_decay: float, decoupled: bool, maximize: bool,
              out=None, scratch=None):
    """Apply the weight decay and return the gradient the moments take (see `effective_grad`
    for `out` and `scratch`).

    Decoupled (AdamW) decay shrinks `param` in place, `param *= 1 - lr * weight_decay`, and
    leaves the gradient alone; otherwise `weight_decay * param` joins the gradient (L2).
    """
    if decoupled and weight_decay != 0:
        param *= 1 - lr * weight_decay
        weight_decay = 0.0
    if not maximize and not weight_decay:  # the common case, without a call (Adam's hot loop)
        return grad
    return effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay, out=out,
                          scratch=scratch)


def adam_moments_(exp_avg, exp_avg_sq, grad, beta1: float, beta2: float, scratch=None) -> None:
    """The running moments, in place: exp_avg <- lerp(exp_avg, grad, 1 - beta1) and
    exp_avg_sq <- beta2 * exp_avg_sq + (1 - beta2) * grad^2."""
    lerp_(exp_avg, grad, 1 - beta1, scratch)
    square_avg_(exp_avg_sq, grad, beta2, scratch)
