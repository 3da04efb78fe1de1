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


class _Net(nn.Module):
    """conv, batch norm, pooling, dropout, attention, layer norm and linear layers in one."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                  nn.AvgPool2d(2), nn.Dropout(0.2))
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.head = nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3))

    def forward(self, x):
        h = self.conv(x).flatten(2).transpose(1, 2)  # (N, 16, 4)
        h = self.attn(h, h, h)[0].mean(1)
        return self.head(h)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_a_diverging_model_turns_nan_without_numpy_warnings(loss):
    # lr=1e30: weights overflow to inf, then NaN, as in PyTorch; the library must stay quiet
    torchlite.manual_seed(0)
    model = _Net()
    x = torchlite.randn(4, 1, 8, 8)
    y = torchlite.tensor([0, 1, 2, 1])
    opt = torchlite.optim.SGD(model.parameters(), lr=1e30, momentum=0.9)
    for _ in range(4):
        out = model(x)
        value = F.cross_entropy(out, y) if loss == "cross_entropy" else F.mse_loss(
            out, F.one_hot(y, 3).float())
        opt.zero_grad()
        value.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1e39)
        opt.step()
    assert not np.isfinite(value.item())
    assert not all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())
