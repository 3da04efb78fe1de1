"""Suite `mlp`: a full training step of a 784-512-256-10 MLP, float32.

The step: zero_grad, forward (Linear-ReLU-Linear-ReLU-Linear), CrossEntropyLoss, backward, and an
SGD-momentum (lr 0.01, momentum 0.9) or Adam (lr 1e-3) update; batch 32, 128 and 512. At batch 32
the cost is mostly per-op overhead (graph nodes, Python), at 512 mostly matrix products. The floor
writes forward and backward by hand, with the gradients computed into preallocated arrays.
"""

from __future__ import annotations

import numpy as np

from ._common import SEED, Env, FloorStep, ModuleStep, RowSpec, optimizer_name, uniform
from ._floor import cross_entropy, make_update

REPEAT, WARMUP, BLOCK, SETTLE = 40, 5, 10, 0.15
SIZES = (784, 512, 256, 10)
QUICK_SIZES = (64, 32, 16, 10)  # for tests of the harness: the same rows, tiny layers
BATCHES = (32, 128, 512)
OPTIMIZERS = {"sgd": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
              "adam": {"name": "adam", "lr": 1e-3}}
NAMES = ("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias")


def rows(quick: bool = False) -> list[RowSpec]:
    sizes = QUICK_SIZES if quick else SIZES
    out = []
    for batch in BATCHES:
        for key, opt in OPTIMIZERS.items():
            desc = (f"MLP {'-'.join(map(str, sizes))}, batch {batch}, float32: forward, "
                    f"cross-entropy, backward, {optimizer_name(opt)}")
            out.append(RowSpec("mlp", f"b{batch} {key}", desc,
                               {"sizes": list(sizes), "batch": batch, "opt": opt, "seed": SEED}))
    return out


def data(params: dict):
    """Inputs, labels and weights (PyTorch's names and layouts) from the row's seed."""
    sizes, n = params["sizes"], params["batch"]
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], n)
    weights = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1.0 / np.sqrt(fan_in)
        weights[f"{2 * i}.weight"] = uniform(rng, (fan_out, fan_in), bound)
        weights[f"{2 * i}.bias"] = uniform(rng, (fan_out,), bound)
    return x, y, weights


def make(nn, sizes):
    return nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2]),
                         nn.ReLU(), nn.Linear(sizes[2], sizes[3]))


class Floor:
    """Forward and backward of the MLP by hand over `xp`; returns (loss, gradients)."""

    def __init__(self, xp, params: list, x, y) -> None:
        self.xp, self.params, self.x, self.y = xp, params, x, y
        self.grads = [xp.empty_like(p) for p in params]
        self.rows = xp.arange(len(y))

    def __call__(self):
        xp, x = self.xp, self.x
        w1, b1, w2, b2, w3, b3 = self.params
        gw1, gb1, gw2, gb2, gw3, gb3 = self.grads
        h1 = x @ w1.T
        h1 += b1
        xp.maximum(h1, 0, out=h1)  # after a relu, h > 0 is also the mask its backward needs
        h2 = h1 @ w2.T
        h2 += b2
        xp.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        loss, g = cross_entropy(xp, z, self.y, self.rows)
        xp.matmul(g.T, h2, out=gw3)
        g.sum(axis=0, out=gb3)
        g = g @ w3
        g *= h2 > 0
        xp.matmul(g.T, h1, out=gw2)
        g.sum(axis=0, out=gb2)
        g = g @ w2
        g *= h1 > 0
        xp.matmul(g.T, x, out=gw1)
        g.sum(axis=0, out=gb1)
        return loss, self.grads


def build(env: Env, params: dict):
    x, y, weights = data(params)
    if env.lib is not None:
        return ModuleStep(env, make(env.lib.nn, params["sizes"]), weights, x, y, params["opt"])
    ps = [env.put(weights[k]) for k in NAMES]
    return FloorStep(env, ps, Floor(env.xp, ps, env.put(x), env.put(y)),
                     make_update(env.xp, ps, params["opt"]))
