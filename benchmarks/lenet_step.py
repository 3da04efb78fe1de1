"""LeNet-5 training step (batch 64, 1x28x28, float32): torchlite vs PyTorch in one process.

    python benchmarks/lenet_step.py [--repeats 200] [--threads N]

The step: conv(1,6,5,pad 2)-relu-maxpool2-conv(6,16,5)-relu-maxpool2-flatten-linear 400-120-84-10,
cross-entropy, backward, plain SGD update. Both models start from the same weights (the loss of
the first step is compared). Timing blocks alternate between the two frameworks so that machine
load hits both alike; the reported figure is the median per-step time. `--threads` pins both
PyTorch's intra-op pool and NumPy's BLAS (through threadpoolctl when it is installed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import torchlite  # noqa: E402
import torchlite.nn as nn  # noqa: E402
import torchlite.nn.functional as F  # noqa: E402


def lenet(m):
    """The model, built from module namespace `m` (torchlite.nn or torch.nn)."""
    return m.Sequential(
        m.Conv2d(1, 6, 5, padding=2), m.ReLU(), m.MaxPool2d(2),
        m.Conv2d(6, 16, 5), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
        m.Linear(400, 120), m.ReLU(), m.Linear(120, 84), m.ReLU(), m.Linear(84, 10),
    )


def sgd_step_fn(model, x, y, loss_fn, opt):
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def time_interleaved(fns, repeats, block=10):
    """Median seconds per call of each fn, timed in alternating blocks of `block` calls."""
    times = {k: [] for k in fns}
    for f in fns.values():  # warm up
        for _ in range(5):
            f()
    done = 0
    while done < repeats:
        for k, f in fns.items():
            for _ in range(block):
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
        done += block
    return {k: float(np.median(v)) for k, v in times.items()}


def set_threads(n, torch):
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    if args.threads:
        _keep = set_threads(args.threads, torch)  # noqa: F841 - the limit lasts while referenced

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    torchlite.manual_seed(0)
    tl_model = lenet(nn)
    fns = {}
    tl_opt = torchlite.optim.SGD(tl_model.parameters(), lr=0.01)
    fns["torchlite"] = sgd_step_fn(tl_model, torchlite.tensor(x), torchlite.tensor(y),
                                   F.cross_entropy, tl_opt)
    if torch is not None:
        t_model = lenet(torch.nn)
        with torch.no_grad():
            for (_, p), (_, q) in zip(t_model.named_parameters(), tl_model.named_parameters()):
                p.copy_(torch.from_numpy(q.detach().numpy()))
        t_opt = torch.optim.SGD(t_model.parameters(), lr=0.01)
        fns["torch"] = sgd_step_fn(t_model, torch.from_numpy(x), torch.from_numpy(y),
                                   torch.nn.functional.cross_entropy, t_opt)
        l1, l2 = float(fns["torchlite"]().detach()), float(fns["torch"]().detach())
        print(f"first-step loss: torchlite {l1:.6f}  torch {l2:.6f}")
    res = time_interleaved(fns, args.repeats)
    threads = args.threads or "default"
    for k, v in res.items():
        print(f"{k:10s} {v * 1e3:8.3f} ms/step  (threads: {threads})")
    if "torch" in res:
        print(f"ratio torchlite/torch: {res['torchlite'] / res['torch']:.2f}x")


if __name__ == "__main__":
    main()
