"""BatchNorm3d and InstanceNorm3d: statistics, gradients, module paths, PyTorch parity."""

import numpy as np
import pytest
from _nn_checks import check_module_grads, npy, parity, rnd, t64

import torchlite
import torchlite.nn as nn


def test_batchnorm3d_normalises_each_channel_over_the_volume():
    x = rnd((3, 2, 4, 3, 5), 0)
    m = nn.BatchNorm3d(2).double()
    out = npy(m(t64(x, False)))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3, 4)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3, 4)), 1, atol=1e-4)
    np.testing.assert_allclose(npy(m.running_mean), 0.1 * x.mean(axis=(0, 2, 3, 4)))
    with pytest.raises(ValueError, match="5D"):
        m(t64(rnd((3, 2, 4, 3), 0), False))
    check_module_grads(nn.BatchNorm3d(2), t64(rnd((2, 2, 2, 3, 2), 1)))


def test_instancenorm3d():
    x = rnd((2, 3, 3, 4, 2), 2)
    out = npy(nn.InstanceNorm3d(3)(t64(x, False)))
    np.testing.assert_allclose(out.mean(axis=(2, 3, 4)), 0, atol=1e-12)
    assert tuple(nn.InstanceNorm3d(3)(t64(x[0], False)).shape) == x.shape[1:]
    check_module_grads(nn.InstanceNorm3d(2, affine=True), t64(rnd((1, 2, 2, 3, 2), 3)))


def test_pytorch_module_paths():
    from torchlite.nn.modules.batchnorm import BatchNorm3d
    from torchlite.nn.modules.instancenorm import InstanceNorm3d

    assert BatchNorm3d is torchlite.nn.BatchNorm3d and InstanceNorm3d is nn.InstanceNorm3d


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    x = rnd((2, 3, 4, 3, 5), 4).astype(np.float32)
    parity(nn.BatchNorm3d(3), torch.nn.BatchNorm3d(3), x)
    parity(nn.InstanceNorm3d(3, affine=True), torch.nn.InstanceNorm3d(3, affine=True), x)
