"""Suite `optim`: one Adam step (lr 1e-3, PyTorch's other defaults) over 10M float32 parameters in
50 tensors of 200,000, with fixed gradients.

This is memory-bound arithmetic over large arrays: what counts is how many passes over memory an
update makes and how many temporaries it allocates. The floor is Adam by hand with in-place
ufuncs and one scratch array per parameter (see _floor.Adam).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._common import SEED, Env, RowSpec
from ._floor import Adam

REPEAT, WARMUP, BLOCK, SETTLE = 15, 2, 5, 0.15
FULL = {"tensors": 50, "size": 200_000}
QUICK = {"tensors": 50, "size": 200}  # the same number of tensors: per-tensor overhead stays
LR = 1e-3


def rows(quick: bool = False) -> list[RowSpec]:
    s = QUICK if quick else FULL
    total = s["tensors"] * s["size"]
    label = f"{total / 1e6:g}M" if total >= 1e6 else f"{total / 1e3:g}k"
    desc = (f"Adam(lr={LR:g}).step() over {total:,} float32 parameters in {s['tensors']} tensors "
            f"of {s['size']:,}, fixed gradients")
    return [RowSpec("optim", f"adam {label}", desc, {**s, "lr": LR, "seed": SEED})]


def data(p: dict):
    rng = np.random.default_rng(p["seed"])
    n, size = p["tensors"], p["size"]
    values = [rng.standard_normal(size, dtype=np.float32) for _ in range(n)]
    grads = [rng.standard_normal(size, dtype=np.float32) for _ in range(n)]
    return values, grads


class Step:
    """Adam over the row's tensors: torchlite's or PyTorch's optimizer, or the floor's."""

    def __init__(self, env: Env, p: dict) -> None:
        values, grads = data(p)
        self.env, self.grads = env, grads
        if env.lib is None:
            self.params = [env.put(v) for v in values]
            self.step = partial(Adam(env.xp, self.params, lr=p["lr"]), [env.put(g) for g in grads])
            return
        self.params = [env.put(v).requires_grad_() for v in values]
        for t, g in zip(self.params, grads):
            t.grad = env.put(g)
        self.step = env.lib.optim.Adam(self.params, lr=p["lr"]).step

    def check(self) -> dict[str, float]:
        """After one step: the total movement and its projection on the gradients (float64)."""
        before = [self.env.get(t).copy() for t in self.params]
        self.step()
        moved = projected = 0.0
        for t, b, g in zip(self.params, before, self.grads):
            d = self.env.get(t).astype(np.float64) - b
            moved += float(np.abs(d).sum())
            projected += float(d @ g)
        return {"sum |param change|": moved, "sum param change * grad": projected}


def build(env: Env, params: dict):
    return Step(env, params)
