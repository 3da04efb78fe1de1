"""End to end: a LeNet-style CNN trained with a hand-written SGD loop on the embedded 8x8 digits."""

import numpy as np

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.datasets import digits


def _net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4x4 -> 2x2
        nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10),
    )


def test_lenet_learns_digits():
    ds = digits()
    x = ds.inputs.astype(np.float32)  # (1797, 1, 8, 8), pixels 0..16
    y = ds.targets
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    x = (x - x[train].mean()) / x[train].std()
    torchlite.manual_seed(0)
    model = _net()
    params = list(model.parameters())
    velocity = [np.zeros_like(p.detach().numpy()) for p in params]
    lr, momentum, batch = 0.03, 0.9, 32
    rng = np.random.default_rng(1)
    first = last = None
    for _epoch in range(10):
        perm = rng.permutation(train)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(torchlite.tensor(x[idx])), torchlite.tensor(y[idx]))
            for p in params:
                p.grad = None
            loss.backward()
            with torchlite.no_grad():
                for p, v in zip(params, velocity):  # SGD with momentum, by hand
                    v *= momentum
                    v += p.grad.numpy()
                    p -= lr * torchlite.tensor(v)
            first = float(loss.detach()) if first is None else first
            last = float(loss.detach())
    model.eval()
    with torchlite.no_grad():
        pred = model(torchlite.tensor(x[test])).argmax(dim=1).numpy()
    acc = float((pred == y[test]).mean())
    print(f"digits LeNet test accuracy: {acc:.3f} (loss {first:.3f} -> {last:.3f})")
    assert last < first / 5
    assert acc >= 0.9
