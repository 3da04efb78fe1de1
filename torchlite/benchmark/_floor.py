"""Pieces of the floor that several suites share: cross-entropy and the update rules, by hand.

The floor is the same math as torchlite, written as fast as the array module allows and without a
graph: it is what torchlite's design could reach at best. So updates work in place with `out=`
and preallocated scratch arrays, and nothing is promoted to float64 (NumPy treats Python floats as
weak scalars, so `a *= 0.9` stays float32). Everything takes the array module `xp` (NumPy or
CuPy) and follows PyTorch's formulas and order of operations, so the first steps agree with
torchlite and PyTorch to float32 rounding.
"""

from __future__ import annotations

import math


def cross_entropy(xp, z, y, rows):
    """Mean cross-entropy of logits z (N, C) for labels y (N,), as a 0-d array (no host sync),
    and its gradient wrt z. `rows` is xp.arange(N), kept by the caller."""
    m = z.max(axis=1, keepdims=True)
    e = z - m
    xp.exp(e, out=e)
    s = e.sum(axis=1, keepdims=True)
    loss = (xp.log(s[:, 0]) + m[:, 0] - z[rows, y]).mean()
    e /= s
    e[rows, y] -= 1
    e *= 1.0 / len(y)
    return loss, e


class SGD:
    """p <- p - lr * b, with b = g on the first step and b <- momentum * b + g after it (PyTorch's
    SGD without dampening, weight decay or Nesterov); b = g when momentum is 0."""

    def __init__(self, xp, params: list, lr: float, momentum: float = 0.0) -> None:
        self.xp, self.params, self.lr, self.momentum = xp, params, lr, momentum
        self.bufs = [xp.zeros_like(p) for p in params] if momentum else None
        self.tmp = [xp.empty_like(p) for p in params]
        self.started = False

    def __call__(self, grads: list) -> None:
        for i, (p, g, tmp) in enumerate(zip(self.params, grads, self.tmp)):
            if self.bufs is not None:
                b = self.bufs[i]
                if self.started:
                    b *= self.momentum
                    b += g
                else:
                    b[...] = g
                g = b
            # p.add_(g, alpha=-lr) in PyTorch: scale first, then one subtraction
            self.xp.multiply(g, self.lr, out=tmp)
            p -= tmp
        self.started = True


class Adam:
    """PyTorch's Adam (no weight decay, no amsgrad): m <- b1 m + (1 - b1) g,
    v <- b2 v + (1 - b2) g^2, p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""

    def __init__(self, xp, params: list, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.xp, self.params, self.lr, self.eps = xp, params, lr, eps
        self.b1, self.b2 = betas
        self.m = [xp.zeros_like(p) for p in params]
        self.v = [xp.zeros_like(p) for p in params]
        self.tmp = [xp.empty_like(p) for p in params]
        self.t = 0

    def __call__(self, grads: list) -> None:
        xp, b1, b2 = self.xp, self.b1, self.b2
        self.t += 1
        step_size = self.lr / (1 - b1**self.t)
        root_bc2 = math.sqrt(1 - b2**self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            # m.lerp_(g, 1 - b1) in PyTorch: m + (1 - b1) * (g - m)
            xp.subtract(g, m, out=tmp)
            tmp *= 1 - b1
            m += tmp
            v *= b2
            xp.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            xp.sqrt(v, out=tmp)
            tmp /= root_bc2
            tmp += self.eps
            xp.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


def make_update(xp, params: list, opt: dict):
    """The floor's update for a row's optimizer spec (see _common.make_optimizer)."""
    if opt["name"] == "adam":
        return Adam(xp, params, lr=opt["lr"])
    return SGD(xp, params, lr=opt["lr"], momentum=opt.get("momentum", 0.0))
