"""A query whose keys are all masked: scaled_dot_product_attention gives output 0 and gradient 0
(PyTorch 2.13), multi-head attention NaN or 0 exactly where PyTorch's does."""

import itertools
import warnings

import numpy as np
import pytest
from _nn_checks import npy, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.autograd import gradcheck


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def ref_sdpa(q, k, v, allowed):
    """NumPy reference: rows with no allowed key give 0."""
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    s = np.where(allowed, s, -np.inf)
    any_key = allowed.any(axis=-1, keepdims=True)
    s = np.where(any_key, s, 0.0)
    e = np.where(allowed, np.exp(s - s.max(axis=-1, keepdims=True)), 0.0)
    w = np.where(any_key, e / np.where(any_key, e.sum(axis=-1, keepdims=True), 1.0), 0.0)
    return w @ v


def _mask(L=3, S=5):
    m = np.ones((L, S), bool)
    m[1] = False  # query 1 may attend to nothing
    m[2, :2] = False
    return m


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zero(kind):
    q, k, v = rnd((2, 3, 4)), rnd((2, 5, 4), 1), rnd((2, 5, 6), 2)
    m = _mask()
    mask = torchlite.tensor(m) if kind == "bool" else t32(np.where(m, 0.0, -np.inf))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no NumPy warning on the way
        out = F.scaled_dot_product_attention(t32(q), t32(k), t32(v), attn_mask=mask)
    got = npy(out)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got[:, 1], 0.0)
    np.testing.assert_allclose(got, ref_sdpa(q, k, v, m), rtol=1e-5, atol=1e-6)


def test_fully_masked_rows_get_zero_gradient():
    q, k, v = (t32(a, requires_grad=True) for a in (rnd((2, 3, 4)), rnd((2, 5, 4), 1),
                                                    rnd((2, 5, 6), 2)))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=torchlite.tensor(_mask()))
    (out * out).sum().backward()
    for t in (q, k, v):
        assert np.isfinite(npy(t.grad)).all()
    np.testing.assert_array_equal(npy(q.grad)[:, 1], 0.0)


def test_fully_masked_rows_gradcheck():
    q, k, v = t64(rnd((2, 3, 4))), t64(rnd((2, 5, 4), 1)), t64(rnd((2, 5, 6), 2))
    bias = t64(np.where(_mask(), rnd((3, 5), 3), -np.inf))
    mask = torchlite.tensor(_mask())
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                     [q, k, v])
    assert gradcheck(lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, attn_mask=b),
                     [q, k, v, bias])


def test_no_keys_at_all_gives_zero():
    q, k, v = t32(rnd((2, 3, 4)), True), t32(rnd((2, 0, 4)), True), t32(rnd((2, 0, 6)), True)
    out = F.scaled_dot_product_attention(q, k, v)
    assert tuple(out.shape) == (2, 3, 6) and not npy(out).any()
    out.sum().backward()
    assert not npy(q.grad).any()


def test_causal_with_more_queries_than_keys_is_finite():
    q, k, v = t32(rnd((1, 4, 4))), t32(rnd((1, 2, 4), 1)), t32(rnd((1, 2, 4), 2))
    out = npy(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    allowed = np.tril(np.ones((4, 2), bool))
    np.testing.assert_allclose(out, ref_sdpa(npy(q), npy(k), npy(v), allowed), rtol=1e-5,
                               atol=1e-6)


def _mha_case(batch_first=True, heads=2, training=False, need_weights=False, grad=False,
              float_mask=False, torch=torchlite, fastpath=True):
    """Self-attention over 3 sequences of 3 steps, the first fully padded; the output of the
    first sequence's first query (NaN, or its finite value)."""
    torchlite.manual_seed(0)
    m = nn.MultiheadAttention(8, heads, batch_first=batch_first)
    state = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    if torch is not torchlite:
        m = torch.nn.MultiheadAttention(8, heads, batch_first=batch_first)
        m.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    m.train(training)
    x = torch.tensor(rnd((3, 3, 8)).astype(np.float32))
    kpm = np.zeros((3, 3), bool)
    kpm[0] = True
    kpm = torch.tensor(np.where(kpm, -np.inf, 0.0).astype(np.float32) if float_mask else kpm)
    prev = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(fastpath)
    try:
        with (torch.enable_grad() if grad else torch.no_grad()):
            out, _ = m(x, x, x, key_padding_mask=kpm, need_weights=need_weights)
    finally:
        torch.backends.mha.set_fastpath_enabled(prev)
    return out.detach().numpy()


def test_mha_nan_or_zero_by_path():
    first = (0, 0)
    # need_weights=True: the weights come from a plain softmax: NaN
    assert np.isnan(_mha_case(need_weights=True)[first]).all()
    # need_weights=False while training or tracking gradients: attention's safe softmax, 0
    # (then out_proj's bias, 0 here)
    assert not _mha_case(training=True)[first].any()
    assert not _mha_case(grad=True)[first].any()
    assert not _mha_case(batch_first=False)[:, 0].any()  # (no fast path without batch_first)
    assert not _mha_case(heads=1)[first].any()  # nor with an odd number of heads
    assert not _mha_case(float_mask=True)[first].any()  # nor with float masks
    assert not _mha_case(fastpath=False)[first].any()  # nor when switched off
    # eval mode, no gradient, batch_first, even heads: PyTorch's fast path, NaN
    assert np.isnan(_mha_case()[first]).all()
    # the other sequences are unaffected
    assert np.isfinite(_mha_case()[1:]).all()


def test_functional_mha_nan_only_with_weights():
    torchlite.manual_seed(0)
    m = nn.MultiheadAttention(8, 2)
    x = t32(rnd((3, 2, 8)))
    kpm = torchlite.tensor(np.array([[True] * 3, [False] * 3]))
    for need_weights in (True, False):
        out, _ = F.multi_head_attention_forward(
            x, x, x, num_heads=2, in_proj_weight=m.in_proj_weight, in_proj_bias=m.in_proj_bias,
            out_proj_weight=m.out_proj.weight, out_proj_bias=m.out_proj.bias,
            key_padding_mask=kpm, need_weights=need_weights)
        assert np.isnan(npy(out)[:, 0]).all() == need_weights
        assert np.isfinite(npy(out)[:, 1]).all()


def test_encoder_layer_in_training_stays_finite():
    torchlite.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = t32(rnd((2, 3, 8)))
    kpm = torchlite.tensor(np.array([[True] * 3, [False, False, True]]))
    assert np.isfinite(npy(layer(x, src_key_padding_mask=kpm))).all()


# ---- PyTorch 2.13 itself ---------------------------------------------------------------------


@pytest.mark.parity
@pytest.mark.parametrize("case", ["bool", "float", "causal", "no_keys", "causal_short"])
def test_sdpa_masked_rows_parity(case):
    torch = pytest.importorskip("torch")
    S = 0 if case == "no_keys" else 2 if case == "causal_short" else 5
    L = 4 if case == "causal_short" else 3
    arrays = [rnd((2, L, 4)), rnd((2, S, 4), 1), rnd((2, S, 6), 2)]
    m = _mask(L, S) if S == 5 else np.ones((L, S), bool)
    kw, tkw = {}, {}
    if case == "bool":
        kw, tkw = dict(attn_mask=torchlite.tensor(m)), dict(attn_mask=torch.tensor(m))
    elif case == "float":
        fm = np.where(m, rnd((L, S), 5), -np.inf).astype(np.float32)
        kw, tkw = dict(attn_mask=t32(fm)), dict(attn_mask=torch.tensor(fm))
    elif case.startswith("causal"):
        kw = tkw = dict(is_causal=True)
    ours = [t32(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    y = F.scaled_dot_product_attention(*ours, **kw)
    ty = torch.nn.functional.scaled_dot_product_attention(*theirs, **tkw)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parity
def test_mha_masked_rows_parity():
    torch = pytest.importorskip("torch")
    for batch_first, heads, training, need_weights, grad, float_mask, fastpath in \
            itertools.product([True, False], [2, 1], [True, False], [True, False],
                              [True, False], [False, True], [True, False]):
        kw = dict(batch_first=batch_first, heads=heads, training=training,
                  need_weights=need_weights, grad=grad, float_mask=float_mask,
                  fastpath=fastpath)
        ours, theirs = _mha_case(**kw), _mha_case(torch=torch, **kw)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, equal_nan=True,
                                   err_msg=str(kw))
