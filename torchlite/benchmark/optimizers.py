"""One optimizer step per algorithm on MLP-sized float32 parameters (about 1.1M values).

Each algorithm gets fresh parameters and gradients (the same values for torchlite and PyTorch)
and is stepped with the gradients fixed; the first (warm-up) step creates the lazy state. There
is no NumPy floor here: eleven update rules by hand would be a second copy of torchlite.optim.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

import torchlite
from torchlite import optim

from ._common import Row

SHAPES = [(1024, 784), (1024,), (256, 1024), (256,), (10, 256), (10,)]
CONFIGS = [
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=1e-3, amsgrad=True)),
    ("Adagrad", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adadelta", dict()),
    ("Adamax", dict()),
    ("NAdam", dict()),
    ("RAdam", dict()),
    ("ASGD", dict(t0=1)),
    ("Rprop", dict()),
]
REPEATS, WARMUP = 10, 1


def _options(kw: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in kw.items()) or "defaults"


def rows(torch=None) -> Iterator[Row]:
    """One row per algorithm, built lazily so that only one set of optimizer state is alive."""
    r = np.random.default_rng(0)
    values = [r.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [r.normal(size=s).astype(np.float32) for s in SHAPES]
    n = sum(v.size for v in values)
    for name, kw in CONFIGS:
        ps = [torchlite.tensor(v, requires_grad=True) for v in values]
        for p, g in zip(ps, grads):
            p.grad = torchlite.tensor(g)
        fns = {"torchlite": getattr(optim, name)(ps, **kw).step}
        if torch is not None:
            tps = [torch.tensor(v, requires_grad=True) for v in values]
            for p, g in zip(tps, grads):
                p.grad = torch.tensor(g)
            fns["torch"] = getattr(torch.optim, name)(tps, **kw).step
        yield Row(f"optim {name}", f"{name}({_options(kw)}).step() on {n:,} float32 values", fns)
