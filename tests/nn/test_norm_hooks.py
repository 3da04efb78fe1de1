"""The older hook-based nn.utils.spectral_norm and weight_norm: PyTorch's state_dict keys, the
weight recomputed before each forward (the power iteration advancing only in training mode),
removal, and PyTorch parity of outputs, gradients and buffers."""

import warnings

import numpy as np
import pytest

import torchlite
from torchlite import nn


def test_spectral_norm_divides_by_the_largest_singular_value():
    torchlite.manual_seed(0)
    layer = nn.utils.spectral_norm(nn.Linear(5, 4))
    assert sorted(layer.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    x = torchlite.randn(3, 5)
    for _ in range(40):
        layer(x)
    w = layer.weight.detach().numpy()
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)
    orig = layer.weight_orig.detach().numpy()
    np.testing.assert_allclose(w, orig / np.linalg.svd(orig, compute_uv=False)[0], rtol=1e-4)
    layer.eval()
    u = layer.weight_u.numpy().copy()
    layer(x)
    np.testing.assert_array_equal(layer.weight_u.numpy(), u)
    nn.utils.remove_spectral_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(layer.weight.detach().numpy(), w, rtol=1e-5)
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_spectral_norm(layer)
    twice = nn.utils.spectral_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(twice)


def test_weight_norm_splits_magnitude_and_direction():
    layer = nn.Linear(4, 3)
    w = layer.weight.detach().numpy().copy()
    with pytest.warns(FutureWarning, match="deprecated"):
        nn.utils.weight_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight_g", "weight_v"]
    np.testing.assert_allclose(layer.weight_g.detach().numpy(),
                               np.linalg.norm(w, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(layer.weight.detach().numpy(), w, rtol=1e-6)
    with torchlite.no_grad():
        layer.weight_g.mul_(2)
    layer(torchlite.ones(1, 4))  # the hook recomputes the weight
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * w, rtol=1e-6)
    nn.utils.remove_weight_norm(layer)
    assert isinstance(layer.weight, nn.Parameter)
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * w, rtol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["spectral_norm", "weight_norm"])
def test_matches_pytorch(kind):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 2, 5, 5)).astype(np.float32)

    def build(lib):
        m = lib.nn.Conv2d(2, 3, 3)
        m.load_state_dict({k: lib.tensor(np.random.default_rng(i).standard_normal(
            tuple(v.shape)).astype(np.float32)) for i, (k, v) in enumerate(m.state_dict().items())})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return getattr(lib.nn.utils, kind)(m)

    theirs, mine = build(torch), build(torchlite)
    assert sorted(mine.state_dict()) == sorted(theirs.state_dict())
    mine.load_state_dict({k: torchlite.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    outs = []
    for lib, m in ((torchlite, mine), (torch, theirs)):
        for _ in range(3):
            m.zero_grad()
            y = m(lib.tensor(x))
            y.pow(2).sum().backward()
        outs.append([y.detach().numpy()] + [p.grad.numpy() for p in m.parameters()]
                    + [b.numpy() for b in m.buffers()])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
