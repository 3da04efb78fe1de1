"""dropout's GPU path, exercised without a GPU: the mask kernel's NumPy reference stands in
for the kernel. The mask must come from one seed drawn from the generator, so that
manual_seed makes GPU dropout reproducible."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import torchlite
import torchlite.nn.functional as F
from torchlite._cuda_kernels import dropout as kernels

dropout_module = importlib.import_module("torchlite.nn.functional.dropout")


@pytest.fixture
def fake_gpu(monkeypatch):
    class Refs:
        draw_seed = staticmethod(kernels.draw_seed)
        dropout_mask = staticmethod(kernels.dropout_mask_reference)

    monkeypatch.setattr(dropout_module, "_kernels", lambda: Refs)
    monkeypatch.setattr(dropout_module, "_on_gpu", lambda a: True)


@pytest.mark.parametrize("fn,shape,mask_shape", [
    (F.dropout, (4, 50), (4, 50)), (F.dropout2d, (2, 3, 4, 4), (2, 3, 1, 1)),
])
def test_gpu_mask_from_one_seed(fn, shape, mask_shape, fake_gpu):
    x = torchlite.ones(shape, requires_grad=True)
    torchlite.manual_seed(7)
    y = fn(x, p=0.3, training=True)
    torchlite.manual_seed(7)
    expected = kernels.dropout_mask_reference(mask_shape, 0.3, seed=kernels.draw_seed(),
                                              dtype=np.float32)
    np.testing.assert_array_equal(y.detach().numpy(), np.broadcast_to(expected, shape))
    assert set(np.unique(expected)) <= {0.0, np.float32(1 / 0.7)}
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(expected, shape))
    torchlite.manual_seed(7)
    np.testing.assert_array_equal(fn(x, p=0.3, training=True).detach().numpy(), y.detach().numpy())
