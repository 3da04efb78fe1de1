"""nn.utils.parametrize and parametrizations: a tensor computed from stored originals (the
PyTorch tutorial's symmetric and chained parametrizations), right_inverse on assignment,
caching, removal, weight_norm and spectral_norm against their definitions, and PyTorch parity of
values, gradients and state_dict keys."""

import copy

import numpy as np
import pytest

import torchlite
from torchlite import nn
from torchlite.nn.utils import parametrizations, parametrize

T = torchlite.tensor


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


class Scale(nn.Module):
    def forward(self, x):
        return 2 * x

    def right_inverse(self, a):
        return a / 2


def test_a_parametrized_weight_is_computed_and_trained_through_its_original():
    torchlite.manual_seed(0)
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    w = layer.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert type(layer).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    assert sorted(dict(layer.named_parameters())) == ["bias", "parametrizations.weight.original"]
    opt = torchlite.optim.SGD(layer.parameters(), lr=0.1)
    x = torchlite.randn(4, 3)
    for _ in range(3):
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)  # still symmetric after training the original
    target = T([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]])
    layer.weight = target  # stored through right_inverse
    np.testing.assert_allclose(layer.weight.detach().numpy(), target.numpy())


def test_chaining_caching_and_removing():
    layer = nn.Linear(2, 2)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    parametrize.register_parametrization(layer, "weight", Scale())
    orig = layer.parametrizations.weight.original.detach().numpy()
    sym = np.triu(orig) + np.triu(orig, 1).T
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * sym)
    with parametrize.cached():
        assert layer.weight is layer.weight
    assert layer.weight is not layer.weight
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and "parametrizations" not in dict(layer.named_modules())
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * sym)
    assert isinstance(layer.weight, nn.Parameter)
    layer2 = nn.Linear(2, 2)
    before = layer2.weight.detach().numpy().copy()
    parametrize.register_parametrization(layer2, "weight", Scale())
    parametrize.remove_parametrizations(layer2, "weight", leave_parametrized=False)
    np.testing.assert_allclose(layer2.weight.detach().numpy(), before / 2)  # the original


def test_refusals():
    class Shrink(nn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(2, 2), "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        parametrize.register_parametrization(nn.Linear(2, 2), "nope", Scale())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(nn.Linear(2, 2), "weight")


def test_weight_norm_and_spectral_norm_follow_their_definitions(tmp_path):
    torchlite.manual_seed(0)
    layer = parametrizations.weight_norm(nn.Linear(4, 3))
    g = layer.parametrizations.weight.original0.detach().numpy()
    v = layer.parametrizations.weight.original1.detach().numpy()
    assert g.shape == (3, 1)
    np.testing.assert_allclose(layer.weight.detach().numpy(),
                               v * g / np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-6)
    conv = parametrizations.spectral_norm(nn.Conv2d(2, 4, 3))
    for _ in range(30):  # training-mode forwards advance the power iteration
        conv(torchlite.randn(1, 2, 5, 5))
    w = conv.weight.detach().numpy().reshape(4, -1)
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)
    conv.eval()
    before = conv.parametrizations.weight[0]._u.numpy().copy()
    conv(torchlite.randn(1, 2, 5, 5))
    np.testing.assert_array_equal(conv.parametrizations.weight[0]._u.numpy(), before)
    torchlite.save(conv.state_dict(), tmp_path / "sn.safetensors")
    other = parametrizations.spectral_norm(nn.Conv2d(2, 4, 3))
    other.load_state_dict(torchlite.load(tmp_path / "sn.safetensors"))
    other.eval()
    np.testing.assert_allclose(other.weight.detach().numpy(), conv.weight.detach().numpy())
    clone = copy.deepcopy(conv)
    np.testing.assert_allclose(clone.weight.detach().numpy(), conv.weight.detach().numpy())
    deconv = parametrizations.spectral_norm(nn.ConvTranspose2d(2, 3, 3))
    assert deconv.parametrizations.weight[0].dim == 1


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm"])
def test_matches_pytorch(kind):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 4)).astype(np.float32)

    def build(lib):
        m = lib.nn.Linear(4, 3)
        m.load_state_dict({k: lib.tensor(np.random.default_rng(i).standard_normal(
            tuple(v.shape)).astype(np.float32)) for i, (k, v) in enumerate(m.state_dict().items())})
        return getattr(lib.nn.utils.parametrizations, kind)(m)

    theirs, mine = build(torch), build(torchlite)
    assert sorted(mine.state_dict()) == sorted(theirs.state_dict())
    mine.load_state_dict({k: T(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    outs = []
    for lib, m in ((torchlite, mine), (torch, theirs)):
        for _ in range(2):
            m.zero_grad()
            y = m(lib.tensor(x))
            y.pow(2).sum().backward()
        outs.append([y.detach().numpy(), m.weight.detach().numpy()]
                    + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
