"""Layers and losses give the same numbers on every device (the `device` fixture adds CUDA)."""

import numpy as np
import pytest
from _nn_checks import npy, rnd

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def _model():
    torchlite.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.GELU(), nn.LayerNorm(6),
                         nn.PReLU(6), nn.Dropout(0.0), nn.Linear(6, 3))


def _run(device):
    model = _model().to(device)
    x = torchlite.tensor(rnd((5, 4)).astype(np.float32), device=device, requires_grad=True)
    y = torchlite.tensor(np.array([0, 2, 1, 1, 0]), device=device)
    logits = model(x)
    loss = (F.cross_entropy(logits, y, label_smoothing=0.1)
            + F.mse_loss(logits, torchlite.zeros_like(logits))
            + F.binary_cross_entropy_with_logits(logits, torchlite.ones_like(logits)))
    loss.backward()
    grads = {n: npy(p.grad) for n, p in model.named_parameters()}
    return float(loss), npy(x.grad), grads, {n: npy(b) for n, b in model.named_buffers()}


def test_training_step_matches_cpu(device):
    ref = _run("cpu")
    got = _run(device)
    assert got[0] == pytest.approx(ref[0], rel=1e-5)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-4, atol=1e-6)
    for name in ref[2]:
        np.testing.assert_allclose(got[2][name], ref[2][name], rtol=1e-4, atol=1e-6)
    for name in ref[3]:
        np.testing.assert_allclose(got[3][name], ref[3][name], rtol=1e-5, atol=1e-6)


def test_embedding_group_norm_and_dropout_on_device(device):
    e = nn.Embedding(5, 3, padding_idx=0).to(device)
    idx = torchlite.tensor(np.array([[0, 1, 1], [4, 3, 1]]), device=device)
    out = nn.GroupNorm(1, 3).to(device)(e(idx))
    out.sum().backward()
    assert out.device == torchlite.device(device)
    g = npy(e.weight.grad)
    assert not g[0].any()
    d = nn.Dropout(0.5).to(device)(torchlite.ones(4, 4, device=device))
    assert set(np.unique(npy(d)).tolist()) <= {0.0, 2.0}


def test_state_dict_round_trip_across_devices(device):
    src = _model().to(device)
    dst = _model()
    with torchlite.no_grad():
        for p in dst.parameters():
            p.fill_(0.5)
    dst.load_state_dict(src.state_dict())
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert b.device == torchlite.device("cpu")
        np.testing.assert_array_equal(npy(a), npy(b), err_msg=k)
