"""The layers learn: a small MLP trained with hand-written SGD fits a separable toy problem."""

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def _xor_quadrants(n=200, seed=0):
    """Label = sign(x0) xor sign(x1), points kept away from the axes (a margin of 0.2)."""
    r = np.random.default_rng(seed)
    x = r.uniform(0.2, 1.0, size=(n, 2)) * r.choice([-1.0, 1.0], size=(n, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return torchlite.tensor(x.astype(np.float32)), torchlite.tensor(y)


def _sgd_step(model, lr):
    with torchlite.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    model.zero_grad()


@pytest.mark.parametrize("variant", ["plain", "batchnorm_dropout"])
def test_mlp_reaches_full_training_accuracy(variant):
    torchlite.manual_seed(0)
    if variant == "plain":
        model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    else:
        model = nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.1),
                              nn.Linear(32, 2))
    x, y = _xor_quadrants()
    first = None
    for _ in range(300):
        loss = F.cross_entropy(model(x), y)
        first = float(loss) if first is None else first
        loss.backward()
        _sgd_step(model, lr=0.5)
    model.eval()
    with torchlite.no_grad():
        logits = model(x)
    accuracy = float((logits.argmax(1) == y).float().mean())
    assert float(F.cross_entropy(logits, y)) < first / 5
    assert accuracy == 1.0
    assert logits.dtype == torchlite.float32
