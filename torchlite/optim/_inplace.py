"""The in-place arithmetic the optimizer updates are built from, on raw arrays (numpy or cupy),
each evaluated in PyTorch's order of operations so that trajectories match it bit for bit.

Every function takes an optional `scratch` array (or `out`, `scratch`) shaped like its operands:
the multi-tensor updates pass the scratch of `_parallel.elementwise_many` and allocate nothing,
the others pass none and get fresh temporaries. The result is the same either way.
"""

from __future__ import annotations

from .. import backend


def lerp_(start, end, weight: float, scratch=None) -> None:
    """start <- start + weight * (end - start), in place, evaluated the way PyTorch's lerp is
    (from `end` when weight >= 0.5, which keeps the result exact at weight 1)."""
    xp = backend.get_xp(start)
    diff = xp.subtract(end, start, out=scratch)
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1.0 - weight
        xp.subtract(end, diff, out=start)


def addcmul_(target, a, b, value: float, scratch=None) -> None:
    """target <- target + value * a * b, in place (PyTorch's addcmul_ order)."""
    tmp = backend.get_xp(target).multiply(a, value, out=scratch)
    tmp *= b
    target += tmp


def square_avg_(avg, x, decay: float, scratch=None) -> None:
    """avg <- decay * avg + (1 - decay) * x * x, in place (PyTorch's mul_ then addcmul_)."""
    avg *= decay
    addcmul_(avg, x, x, 1 - decay, scratch)


def effective_grad(param, grad, *, maximize: bool, weight_decay: float, out=None,
                   scratch=None):
    """The gradient an update uses: negated if `maximize`, plus `weight_decay * param` (L2
    weight decay, PyTorch's `grad.add(param, alpha=weight_decay)`).

    `grad` itself (the parameter's `.grad`) is never changed: where the result differs from it,
    it is written into `out`, with `scratch` for the decay term (fresh arrays where None).
    """
    if not maximize and not weight_decay:
        return grad
    xp = backend.get_xp(param)
    if maximize:
        grad = out = xp.negative(grad, out=out)
    if weight_decay:
        decay = xp.multiply(param, weight_decay, out=scratch)
        if grad is out:
            grad += decay
        else:
            grad = xp.add(grad, decay, out=out)
    return grad
