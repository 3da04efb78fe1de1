"""Suite `data`: one shuffled epoch through a DataLoader over an in-memory dataset.

60,000 samples of 784 float32 features and int64 labels (MNIST's shape), batch 128, shuffle=True:
one step is a whole epoch, every batch taken (and moved to the device when that is a GPU, as a
training loop would). torchlite and PyTorch use their DataLoader over a TensorDataset; the floor
is a NumPy permutation and one fancy-indexed slice per batch and array.
"""

from __future__ import annotations

import importlib

import numpy as np

from ._common import SEED, Env, RowSpec

REPEAT, WARMUP, BLOCK, SETTLE = 5, 1, 1, 0.15
FULL = {"samples": 60_000, "features": 784, "batch": 128}
QUICK = {"samples": 1_000, "features": 784, "batch": 128}


def rows(quick: bool = False) -> list[RowSpec]:
    s = QUICK if quick else FULL
    desc = (f"one shuffled epoch of DataLoader(TensorDataset) over {s['samples']:,} samples of "
            f"{s['features']} float32 features + int64 labels, batch {s['batch']}")
    return [RowSpec("data", f"epoch b{s['batch']}", desc, {**s, "seed": SEED},
                    samples=s["samples"])]


class Epoch:
    """One epoch of batches in a framework's types, on its device."""

    def __init__(self, env: Env, p: dict) -> None:
        rng = np.random.default_rng(p["seed"])
        self.x = rng.standard_normal((p["samples"], p["features"]), dtype=np.float32)
        self.y = rng.integers(0, 10, p["samples"])
        self.env, self.batch = env, p["batch"]
        self.on_device = env.device != "cpu"
        if env.lib is None:
            self.rng = np.random.default_rng(p["seed"] + 1)  # the shuffling of the floor
            return
        data = importlib.import_module(env.lib.__name__ + ".utils.data")
        ds = data.TensorDataset(env.lib.from_numpy(self.x), env.lib.from_numpy(self.y))
        self.loader = data.DataLoader(ds, batch_size=self.batch, shuffle=True)

    def batches(self):
        if self.env.lib is None:
            xp, x, y, bs = self.env.xp, self.x, self.y, self.batch
            perm = self.rng.permutation(len(x))
            for start in range(0, len(perm), bs):
                idx = perm[start:start + bs]
                xb, yb = x[idx], y[idx]
                yield (xp.asarray(xb), xp.asarray(yb)) if self.on_device else (xb, yb)
        elif self.on_device:
            for xb, yb in self.loader:
                yield xb.to(self.env.device), yb.to(self.env.device)
        else:
            yield from self.loader

    def step(self) -> None:
        for _ in self.batches():
            pass

    def check(self) -> dict[str, float]:
        """Order-independent sums over one epoch: every sample seen exactly once."""
        n, labels, features = 0, 0, 0.0
        for xb, yb in self.batches():
            xb, yb = self.env.get(xb), self.env.get(yb)
            n += len(yb)
            labels += int(yb.sum())
            features += float(xb.sum(dtype=np.float64))
        return {"samples": float(n), "sum of labels": float(labels), "sum of features": features}


def build(env: Env, params: dict):
    return Epoch(env, params)
