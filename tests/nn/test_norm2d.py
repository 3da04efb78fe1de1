"""BatchNorm2d, InstanceNorm1d/2d (and F.instance_norm), Dropout2d on images."""

import numpy as np
import pytest
from _nn_checks import npy, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.autograd import gradcheck


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_batchnorm2d_train_eval_and_running_stats():
    torchlite.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    with torchlite.no_grad():
        bn.weight.copy_(t32([1.0, 2.0, 0.5]))
        bn.bias.copy_(t32([0.0, -1.0, 3.0]))
    x = rnd((4, 3, 5, 6)) * 2 + 1
    out = bn(t32(x))
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    w, b = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
    c = (None, slice(None), None, None)
    expected = (x - mean[c]) / np.sqrt(var[c] + 1e-5) * w[c] + b[c]
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)
    n = 4 * 5 * 6
    np.testing.assert_allclose(npy(bn.running_mean), 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(bn.running_var), 0.9 + 0.1 * var * n / (n - 1), rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    rm, rv = npy(bn.running_mean), npy(bn.running_var)
    np.testing.assert_allclose(npy(bn(t32(x))), (x - rm[c]) / np.sqrt(rv[c] + 1e-5) * w[c] + b[c],
                               rtol=1e-4, atol=1e-4)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    with pytest.raises(ValueError):
        bn(t32(rnd((4, 3, 5))))


def test_batchnorm2d_gradcheck():
    bn = nn.BatchNorm2d(2).double()
    x = t64(rnd((3, 2, 3, 2)))
    assert gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])


def ref_instance_norm(x, w=None, b=None, eps=1e-5):
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    c = (None, slice(None)) + (None,) * (x.ndim - 2)
    if w is not None:
        out = out * w[c] + b[c]
    return out


def test_instance_norm2d_forward_default_and_affine():
    x = rnd((3, 4, 5, 6)) * 3 + 2
    m = nn.InstanceNorm2d(4)
    assert list(m.state_dict()) == []
    np.testing.assert_allclose(npy(m(t32(x))), ref_instance_norm(x), rtol=1e-4, atol=1e-4)
    torchlite.manual_seed(0)
    ma = nn.InstanceNorm2d(4, affine=True)
    with torchlite.no_grad():
        ma.weight.copy_(t32([1.0, 2.0, 3.0, 4.0]))
        ma.bias.copy_(t32([0.5, 0.0, -0.5, 1.0]))
    assert list(ma.state_dict()) == ["weight", "bias"]
    expected = ref_instance_norm(x, np.array([1.0, 2, 3, 4]), np.array([0.5, 0, -0.5, 1]))
    np.testing.assert_allclose(npy(ma(t32(x))), expected, rtol=1e-4, atol=1e-4)
    single = ma(t32(x[0]))  # unbatched (C, H, W)
    np.testing.assert_allclose(npy(single), expected[0], rtol=1e-4, atol=1e-4)


def test_instance_norm_without_bias():
    # bias=False (keyword-only, as PyTorch's): a weight alone, and nothing added after it
    x = rnd((3, 4, 5, 6)) * 3 + 2
    m = nn.InstanceNorm2d(4, affine=True, bias=False)
    assert list(m.state_dict()) == ["weight"] and m.bias is None
    with torchlite.no_grad():
        m.weight.copy_(t32([1.0, 2.0, 3.0, 4.0]))
    expected = ref_instance_norm(x, np.array([1.0, 2, 3, 4]), np.zeros(4))
    np.testing.assert_allclose(npy(m(t32(x))), expected, rtol=1e-4, atol=1e-4)
    assert "affine=True, bias=False" in repr(m)
    assert list(nn.SyncBatchNorm(4, bias=False).state_dict()) == [
        "weight", "running_mean", "running_var", "num_batches_tracked"]


def test_instance_norm_running_stats():
    x = rnd((3, 2, 4, 5)) * 2 + 1
    m = nn.InstanceNorm2d(2, track_running_stats=True, momentum=0.2)
    assert list(m.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    m(t32(x))
    mean = x.mean(axis=(2, 3)).mean(axis=0)
    var_unbiased = x.var(axis=(2, 3), ddof=1).mean(axis=0)
    np.testing.assert_allclose(npy(m.running_mean), 0.2 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(m.running_var), 0.8 + 0.2 * var_unbiased, rtol=1e-5)
    m.eval()
    rm, rv = npy(m.running_mean), npy(m.running_var)
    c = (None, slice(None), None, None)
    np.testing.assert_allclose(npy(m(t32(x))), (x - rm[c]) / np.sqrt(rv[c] + 1e-5), rtol=1e-4,
                               atol=1e-4)


def test_instance_norm_gradcheck():
    x = t64(rnd((2, 3, 3, 4)))
    w, b = t64(rnd(3, 1)), t64(rnd(3, 2))
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])
    assert gradcheck(lambda x: F.instance_norm(x), [t64(rnd((2, 2, 5)))])
    m = nn.InstanceNorm1d(2, affine=True).double()
    assert gradcheck(lambda x, w, b: m(x), [t64(rnd((2, 2, 5), 3)), m.weight, m.bias])


def test_dropout2d_zeroes_whole_channels():
    torchlite.manual_seed(0)
    x = t32(np.ones((8, 16, 3, 3)))
    y = npy(nn.Dropout2d(0.5)(x))
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8


@pytest.mark.parity
@pytest.mark.parametrize("kw", [dict(), dict(affine=True), dict(track_running_stats=True),
                                dict(affine=True, track_running_stats=True, momentum=0.3)])
def test_instance_norm2d_parity(kw):
    torch = pytest.importorskip("torch")
    m, tm = nn.InstanceNorm2d(3, **kw), torch.nn.InstanceNorm2d(3, **kw)
    if kw.get("affine"):
        with torchlite.no_grad():
            m.weight.copy_(t32(rnd(3, 5)))
            m.bias.copy_(t32(rnd(3, 6)))
    tm.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in m.state_dict().items()})
    x = (rnd((2, 3, 4, 5)) * 2 + 1).astype(np.float32)
    for train in (True, False):
        m.train(train)
        tm.train(train)
        ours, theirs = t32(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = m(ours), tm(theirs)
        np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
        (y * t32(x)).sum().backward()
        (ty * torch.from_numpy(x)).sum().backward()
        np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-4, atol=1e-4)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(npy(m.state_dict()[k]), v.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
def test_batchnorm2d_parity():
    torch = pytest.importorskip("torch")
    m, tm = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    x = (rnd((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
    ours, theirs = t32(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(ours), tm(theirs)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    (y * t32(x)).sum().backward()
    (ty * torch.from_numpy(x)).sum().backward()
    np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-3, atol=1e-4)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(npy(m.state_dict()[k]), v.numpy(), rtol=1e-5, atol=1e-6)


def test_norm_layers_on_device(device):
    x = rnd((2, 3, 4, 5))
    for m in (nn.BatchNorm2d(3), nn.InstanceNorm2d(3, affine=True, track_running_stats=True)):
        ref = m(t32(x))
        m.to(device)
        xd = t32(x).to(device).requires_grad_()
        y = m(xd)
        assert y.device.type == device
        np.testing.assert_allclose(y.detach().cpu().numpy(), npy(ref), rtol=1e-4, atol=1e-4)
        y.sum().backward()
        assert xd.grad.device.type == device
