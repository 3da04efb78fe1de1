"""2-layer LSTM training step (batch 32, seq 35, input 64, hidden 128, float32): torchlite vs
PyTorch in one process.

    python benchmarks/lstm_step.py [--repeats 200] [--threads N]

The step: LSTM(64, 128, num_layers=2) over a (35, 32, 64) batch, a linear head on the last
hidden state (128 -> 10), cross-entropy, backward, plain SGD update. Both models start from the
same weights (the first-step loss is printed for both). Timing as in lenet_step.py: alternating
blocks, median per-step time.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from lenet_step import set_threads, time_interleaved  # noqa: E402

import torchlite  # noqa: E402
import torchlite.nn as nn  # noqa: E402
import torchlite.nn.functional as F  # noqa: E402

SEQ, BATCH, N_IN, HIDDEN, N_OUT = 35, 32, 64, 128, 10


def make(m):
    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.lstm = m.LSTM(N_IN, HIDDEN, num_layers=2)
            self.head = m.Linear(HIDDEN, N_OUT)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[-1])

    return Net()


def step_fn(model, x, y, loss_fn, opt):
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


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
    x = rng.standard_normal((SEQ, BATCH, N_IN)).astype(np.float32)
    y = rng.integers(0, N_OUT, BATCH)
    torchlite.manual_seed(0)
    tl_model = make(nn)
    fns = {"torchlite": step_fn(tl_model, torchlite.tensor(x), torchlite.tensor(y),
                                F.cross_entropy,
                                torchlite.optim.SGD(tl_model.parameters(), lr=0.1))}
    if torch is not None:
        t_model = make(torch.nn)
        with torch.no_grad():
            for (n1, p), (n2, q) in zip(t_model.named_parameters(), tl_model.named_parameters()):
                assert n1 == n2, (n1, n2)
                p.copy_(torch.from_numpy(q.detach().numpy()))
        fns["torch"] = step_fn(t_model, torch.from_numpy(x), torch.from_numpy(y),
                               torch.nn.functional.cross_entropy,
                               torch.optim.SGD(t_model.parameters(), lr=0.1))
        l1 = float(fns["torchlite"]().detach())
        l2 = float(fns["torch"]().detach())
        print(f"first-step loss: torchlite {l1:.6f}  torch {l2:.6f}")
    res = time_interleaved(fns, args.repeats)
    threads = args.threads or "default"
    for k, v in res.items():
        print(f"{k:10s} {v * 1e3:8.3f} ms/step  (threads: {threads})")
    if "torch" in res:
        print(f"ratio torchlite/torch: {res['torchlite'] / res['torch']:.2f}x")


if __name__ == "__main__":
    main()
