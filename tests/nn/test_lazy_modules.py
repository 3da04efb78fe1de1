"""Lazy modules: sizes read from the first input, the placeholders materialised in place (an
optimizer built before keeps training them), the eager class afterwards, PyTorch's shapes,
keys and repr."""

import numpy as np
import pytest

import torchlite
from torchlite import nn


def test_lazy_layers_become_eager_ones_on_the_first_input():
    torchlite.manual_seed(0)
    model = nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
                          nn.Flatten(), nn.LazyLinear(5))
    assert isinstance(model[0].weight, nn.UninitializedParameter)
    params = list(model.parameters())
    opt = torchlite.optim.SGD(params, lr=0.1)
    x = torchlite.randn(2, 3, 4, 4)
    y = model(x)
    assert [type(m) for m in model] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Flatten,
                                        nn.Linear]
    assert tuple(model[0].weight.shape) == (4, 3, 3, 3) and model[0].in_channels == 3
    assert model[1].num_features == 4 and tuple(model[1].running_mean.shape) == (4,)
    assert model[4].in_features == 64 and tuple(model[4].weight.shape) == (5, 64)
    assert repr(model[4]) == "Linear(in_features=64, out_features=5, bias=True)"
    assert all(type(p) is nn.Parameter for p in params)
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # the same objects
    before = model[4].weight.detach().numpy().copy()
    y.sum().backward()
    opt.step()
    assert not np.array_equal(model[4].weight.detach().numpy(), before)
    bound = 1 / np.sqrt(64)  # Linear's initialisation
    assert np.abs(before).max() <= bound


def test_lazy_options_and_no_bias():
    layer = nn.LazyLinear(3, bias=False)
    assert layer.bias is None
    layer(torchlite.ones(2, 7))
    assert layer.bias is None and tuple(layer.weight.shape) == (3, 7)
    conv = nn.LazyConv1d(2, 3, stride=2)
    conv(torchlite.ones(1, 5, 9))
    assert conv.stride == (2,) and tuple(conv.weight.shape) == (2, 5, 3)
    norm = nn.LazyBatchNorm1d(affine=False)
    norm(torchlite.randn(4, 6))
    assert type(norm) is nn.BatchNorm1d and norm.weight is None
    assert tuple(norm.running_var.shape) == (6,)


@pytest.mark.parity
def test_shapes_and_keys_match_pytorch():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (torchlite, torch):
        m = lib.nn.Sequential(lib.nn.LazyConv3d(2, 2), lib.nn.LazyBatchNorm3d(),
                              lib.nn.Flatten(), lib.nn.LazyLinear(3))
        m(lib.ones(1, 4, 3, 3, 3))
        out.append({k: tuple(v.shape) for k, v in m.state_dict().items()})
    assert out[0] == out[1]


def test_dtype_set_before_the_first_input_and_unbatched_convs():
    layer = nn.LazyLinear(3).double()
    out = layer(torchlite.ones(2, 4, dtype=torchlite.float64))
    assert out.dtype == torchlite.float64 and layer.weight.dtype == torchlite.float64
    conv = nn.LazyConv1d(2, 3)
    assert tuple(conv(torchlite.ones(5, 9)).shape) == (2, 7) and conv.in_channels == 5
    conv2 = nn.LazyConv2d(4, 3)
    assert tuple(conv2(torchlite.ones(3, 6, 6)).shape) == (4, 4, 4) and conv2.in_channels == 3


def test_a_state_dict_loaded_before_the_first_input_sizes_the_lazy_layers(tmp_path):
    source = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(),
                           nn.Linear(64, 5))
    torchlite.save(source.state_dict(), tmp_path / "m.safetensors")
    lazy = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.Flatten(),
                         nn.LazyLinear(5))
    lazy.load_state_dict(torchlite.load(tmp_path / "m.safetensors"))
    assert [type(m) for m in lazy] == [nn.Conv2d, nn.BatchNorm2d, nn.Flatten, nn.Linear]
    assert lazy[0].in_channels == 3 and lazy[3].in_features == 64
    source.eval()
    lazy.eval()
    x = torchlite.randn(2, 3, 6, 6)
    np.testing.assert_array_equal(lazy(x).detach().numpy(), source(x).detach().numpy())
    grouped = nn.LazyConv2d(4, 3, groups=2)
    grouped.load_state_dict(nn.Conv2d(6, 4, 3, groups=2).state_dict())
    assert grouped.in_channels == 6
