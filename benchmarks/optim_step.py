"""Time one optimizer step per algorithm on MLP-sized float32 parameters (about 1.1M values):
torchlite against the same loop in PyTorch when it is installed (same process, same data).

    python benchmarks/optim_step.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import torchlite
from torchlite import optim

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


def _time(step, repeat: int) -> float:
    step()  # warm up: lazy state
    t0 = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    r = np.random.default_rng(0)
    values = [r.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [r.normal(size=s).astype(np.float32) for s in SHAPES]
    try:
        import torch
    except ImportError:
        torch = None
    print(f"{'optimizer':10s} {'torchlite ms':>13s} {'torch ms':>9s} {'ratio':>6s}")
    for name, kw in CONFIGS:
        ps = [torchlite.tensor(v, requires_grad=True) for v in values]
        for p, g in zip(ps, grads):
            p.grad = torchlite.tensor(g)
        ours = _time(getattr(optim, name)(ps, **kw).step, args.repeat)
        theirs = float("nan")
        if torch is not None:
            tps = [torch.tensor(v, requires_grad=True) for v in values]
            for p, g in zip(tps, grads):
                p.grad = torch.tensor(g)
            theirs = _time(getattr(torch.optim, name)(tps, **kw).step, args.repeat)
        print(f"{name:10s} {ours * 1e3:13.2f} {theirs * 1e3:9.2f} {ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
