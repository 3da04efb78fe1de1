"""cross_entropy's GPU path, exercised without a GPU: the kernels' NumPy references stand in
for the kernels, and the loss and gradient must equal the CPU path's."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import torchlite
import torchlite.nn.functional as F
from torchlite._cuda_kernels import cross_entropy as kernels

ce_module = importlib.import_module("torchlite.nn.functional.cross_entropy")


@pytest.fixture
def fused(monkeypatch):
    calls = []

    class Refs:
        @staticmethod
        def cross_entropy_forward(*a, **k):
            calls.append("forward")
            return kernels.cross_entropy_forward_reference(*a, **k)

        @staticmethod
        def cross_entropy_backward(*a, **k):
            calls.append("backward")
            return kernels.cross_entropy_backward_reference(*a, **k)

    monkeypatch.setattr(ce_module, "_kernels", lambda: Refs)
    return monkeypatch, calls


def _loss_and_grad(x, t, **kw):
    xt = torchlite.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, torchlite.tensor(t), **kw)
    loss.backward(torchlite.ones_like(loss))
    return loss.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("kw", [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 2},
    {"label_smoothing": 0.1}, {"weight": [0.5, 1.0, 2.0, 1.5, 0.2]},
    {"weight": [0.5, 1.0, 2.0, 1.5, 0.2], "label_smoothing": 0.2, "ignore_index": 0},
])
def test_fused_path_matches_cpu(kw, fused):
    monkeypatch, calls = fused
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    t = rng.integers(0, 5, 6)
    if "weight" in kw:
        kw = {**kw, "weight": torchlite.tensor(np.array(kw["weight"], dtype=np.float32))}
    ref_loss, ref_grad = _loss_and_grad(x, t, **kw)
    monkeypatch.setattr(ce_module, "_use_fused", lambda a, w: a.ndim == 2)
    loss, grad = _loss_and_grad(x, t, **kw)
    assert calls == ["forward", "backward"]
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-7)


def test_cpu_arrays_never_take_the_fused_path(fused):
    _, calls = fused
    _loss_and_grad(np.zeros((3, 4), np.float32), np.array([0, 1, 2]))
    assert calls == []
