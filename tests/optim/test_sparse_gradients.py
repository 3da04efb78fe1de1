"""Optimizers fed sparse gradients (Embedding(sparse=True)): SparseAdam, SGD and Adagrad follow
PyTorch's trajectories for 50 steps; the others refuse with PyTorch's message."""

import numpy as np
import pytest

import torchlite

CONFIGS = [
    ("SparseAdam", dict(lr=0.01)),
    ("SparseAdam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-4, maximize=True)),
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-6)),
]


def _trajectory(m, name, kw, steps=50):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((30, 4)).astype(np.float32)
    batches = [rng.integers(0, 30, (8, 3)) for _ in range(steps)]
    emb = m.nn.Embedding(30, 4, sparse=True)
    emb.weight.data = m.tensor(weight)
    opt = getattr(m.optim, name)(emb.parameters(), **kw)
    for ids in batches:
        opt.zero_grad()
        y = emb(m.tensor(ids))
        (y * y).sum().backward()
        opt.step()
    return emb.weight.detach().numpy()


@pytest.mark.parity
@pytest.mark.parametrize("name, kw", CONFIGS, ids=str)
def test_trajectory_matches_pytorch(name, kw):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_trajectory(torchlite, name, kw), _trajectory(torch, name, kw),
                               rtol=1e-5, atol=1e-5)


def test_sparse_adam_touches_only_gradient_rows():
    emb = torchlite.nn.Embedding(10, 2, sparse=True)
    before = emb.weight.detach().numpy().copy()
    opt = torchlite.optim.SparseAdam(emb.parameters(), lr=0.1)
    emb(torchlite.tensor([3, 3, 7])).sum().backward()
    opt.step()
    after = emb.weight.detach().numpy()
    moved = np.flatnonzero(np.any(after != before, axis=1)).tolist()
    assert moved == [3, 7]
    assert opt.state[emb.weight]["exp_avg"][0].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name, match", [
    ("Adam", "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("AdamW", "Adam does not support sparse gradients"),
    ("RMSprop", "RMSprop does not support sparse gradients"),
    ("Adadelta", "Adadelta does not support sparse gradients"),
    ("NAdam", "NAdam does not support sparse gradients"),
])
def test_other_optimizers_refuse(name, match):
    emb = torchlite.nn.Embedding(4, 2, sparse=True)
    opt = getattr(torchlite.optim, name)(emb.parameters())
    emb(torchlite.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match=match):
        opt.step()


@pytest.mark.parametrize("name, kw, match", [
    ("SGD", dict(lr=0.1, weight_decay=0.1), r"add\(sparse, dense\) is not supported"),
    ("Adagrad", dict(weight_decay=0.1), "weight_decay option is not compatible"),
])
def test_weight_decay_with_sparse_gradients_refused(name, kw, match):
    emb = torchlite.nn.Embedding(4, 2, sparse=True)
    opt = getattr(torchlite.optim, name)(emb.parameters(), **kw)
    emb(torchlite.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match=match):
        opt.step()
