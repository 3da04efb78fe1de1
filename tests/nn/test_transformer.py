"""TransformerEncoderLayer and TransformerEncoder: NumPy reference, gradcheck, keys, parity."""

import numpy as np
import pytest
from _nn_checks import npy, t32, t64
from test_attention import ref_mha

import torchlite
import torchlite.nn as nn
from torchlite.autograd import gradcheck
from torchlite.nn.modules.transformer import generate_square_subsequent_mask


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def layer_norm(x, norm):
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + norm.eps) * npy(norm.weight) + npy(norm.bias)


def ref_layer(m, x, act, bias=None):
    """Sequence-first reference of an eval-mode (no dropout) encoder layer."""
    def sa(y):
        return ref_mha(m.self_attn, y, y, y, bias)[0]

    def ff(y):
        h = act(y @ npy(m.linear1.weight).T + npy(m.linear1.bias))
        return h @ npy(m.linear2.weight).T + npy(m.linear2.bias)

    if m.norm_first:
        x = x + sa(layer_norm(x, m.norm1))
        return x + ff(layer_norm(x, m.norm2))
    x = layer_norm(x + sa(x), m.norm1)
    return layer_norm(x + ff(x), m.norm2)


def relu(x):
    return np.maximum(x, 0)


def gelu(x):
    from math import erf

    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


@pytest.mark.parametrize("norm_first,activation,act", [(False, "relu", relu),
                                                       (True, "gelu", gelu)])
def test_encoder_layer_matches_reference(norm_first, activation, act):
    torchlite.manual_seed(0)
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, norm_first=norm_first,
                                   activation=activation)
    m.eval()
    x = rnd((5, 3, 8))
    kpm = np.zeros((3, 5), bool)
    kpm[1, 3:] = True
    out = m(t32(x), src_key_padding_mask=torchlite.tensor(kpm))
    expected = ref_layer(m, x, act, np.where(kpm, -np.inf, 0.0)[:, None, None, :])
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)


def test_encoder_layer_batch_first_and_causal_mask():
    torchlite.manual_seed(0)
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True, dropout=0.0)
    x = rnd((3, 5, 8))
    mask = generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(npy(mask), np.triu(np.full((5, 5), -np.inf), 1))
    out = m(t32(x), src_mask=mask, is_causal=True)
    expected = ref_layer(m, x.transpose(1, 0, 2), relu, npy(mask)[None, None])
    np.testing.assert_allclose(npy(out), expected.transpose(1, 0, 2), rtol=1e-4, atol=1e-4)


def test_encoder_state_dict_keys_and_independent_layers():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    enc = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(8))
    keys = list(enc.state_dict())
    per_layer = ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                 "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                 "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
    assert keys == [f"layers.{i}.{k}" for i in range(2) for k in per_layer] + \
        ["norm.weight", "norm.bias"]
    assert tuple(enc.state_dict()["layers.1.linear1.weight"].shape) == (16, 8)
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    enc.eval()
    x = rnd((4, 2, 8))
    y = t32(x)
    for sub in enc.layers:
        y = sub(y)
    np.testing.assert_allclose(npy(enc(t32(x))), npy(enc.norm(y)), rtol=1e-5, atol=1e-6)


def test_encoder_layer_gradcheck():
    torchlite.manual_seed(0)
    m = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0).double()
    params = list(m.parameters())
    x = t64(rnd((3, 2, 4)))
    assert gradcheck(lambda x, *ps: m(x), [x, *params])


def test_dropout_only_in_training():
    torchlite.manual_seed(0)
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5)
    x = t32(rnd((4, 2, 8)))
    m.eval()
    np.testing.assert_array_equal(npy(m(x)), npy(m(x)))
    m.train()
    assert not np.allclose(npy(m(x)), npy(m(x)))
    with pytest.raises(RuntimeError):
        nn.TransformerEncoderLayer(8, 2, activation="swish")


@pytest.mark.parity
@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, activation="gelu"),
                                dict(batch_first=True, layer_norm_eps=1e-3)])
def test_encoder_layer_parity(kw):
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kw)
    tm = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kw)
    tm.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in m.state_dict().items()})
    m.eval()
    tm.eval()
    x = rnd((4, 3, 8)).astype(np.float32)
    kpm = np.zeros((4 if kw.get("batch_first") else 3, 3 if kw.get("batch_first") else 4), bool)
    kpm[0, -1] = True
    ours, theirs = t32(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = m(ours, src_key_padding_mask=torchlite.tensor(kpm))
    ty = tm(theirs, src_key_padding_mask=torch.tensor(kpm))
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-3, atol=1e-4)
    for (name, p), (_, q) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(npy(p.grad), q.grad.numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=name)


@pytest.mark.parity
def test_encoder_parity():
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8))
    tenc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16), 2,
                                       norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    tenc.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in enc.state_dict().items()})
    enc.eval()
    tenc.eval()
    x = rnd((5, 2, 8)).astype(np.float32)
    mask = np.triu(np.full((5, 5), -np.inf, dtype=np.float32), 1)
    y = enc(t32(x), mask=t32(mask))
    ty = tenc(torch.from_numpy(x), mask=torch.from_numpy(mask))
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
