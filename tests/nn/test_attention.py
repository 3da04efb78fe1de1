"""F.scaled_dot_product_attention and nn.MultiheadAttention: NumPy references, masks,
gradchecks, parameter names, parity with PyTorch."""

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


def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_sdpa(q, k, v, bias=None, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if bias is not None:
        s = s + bias
    w = softmax(s)
    return w @ v, w


@pytest.mark.parametrize("kw", [dict(), dict(scale=0.3), dict(is_causal=True)])
def test_sdpa_matches_reference(kw):
    q, k, v = rnd((2, 3, 4, 6)), rnd((2, 3, 5, 6), 1), rnd((2, 3, 5, 7), 2)
    bias = None
    if kw.get("is_causal"):
        bias = np.where(np.tril(np.ones((4, 5), bool)), 0.0, -np.inf)
    expected, _ = ref_sdpa(q, k, v, bias, kw.get("scale"))
    out = F.scaled_dot_product_attention(t32(q), t32(k), t32(v), **kw)
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-5)


def test_sdpa_masks_bool_means_attend_float_is_added():
    q, k, v = rnd((2, 4, 6)), rnd((2, 5, 6), 1), rnd((2, 5, 3), 2)
    keep = np.random.default_rng(3).random((4, 5)) < 0.6
    keep[:, 0] = True
    out = F.scaled_dot_product_attention(t32(q), t32(k), t32(v), attn_mask=torchlite.tensor(keep))
    expected, _ = ref_sdpa(q, k, v, np.where(keep, 0.0, -np.inf))
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-5)
    fmask = rnd((2, 1, 5), 4)
    out = F.scaled_dot_product_attention(t32(q), t32(k), t32(v), attn_mask=t32(fmask))
    np.testing.assert_allclose(npy(out), ref_sdpa(q, k, v, fmask)[0], rtol=1e-4, atol=1e-5)


def test_sdpa_gradcheck_including_float_mask_and_broadcast():
    q, k, v = t64(rnd((2, 3, 4))), t64(rnd((2, 5, 4), 1)), t64(rnd((2, 5, 3), 2))
    m = t64(rnd((3, 5), 3))
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                     [q, k, v, m])
    kb = t64(rnd((1, 5, 4), 4))  # key broadcast over the batch
    assert gradcheck(lambda q, k: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                     [q, kb])


def test_sdpa_dropout_keeps_expectation_and_errors():
    torchlite.manual_seed(0)
    q, k, v = t32(rnd((1, 64, 8))), t32(rnd((1, 64, 8), 1)), t32(np.ones((1, 64, 4)))
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert 0.7 < float(npy(out).mean()) < 1.3  # rows of weights sum to 1 in expectation
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, k, v, attn_mask=t32(np.zeros((64, 64))),
                                       is_causal=True)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, t32(rnd((1, 64, 5))), v)


def ref_mha(m, q, k, v, bias=None, average=True):
    """Sequence-first (L, N, E) reference from the module's parameters."""
    E, H = m.embed_dim, m.num_heads
    hd = E // H
    if m.in_proj_weight is not None:
        wq, wk, wv = np.split(npy(m.in_proj_weight).astype(np.float64), 3)
    else:
        wq, wk, wv = (npy(w).astype(np.float64) for w in
                      (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight))
    bq, bk, bv = np.split(npy(m.in_proj_bias), 3) if m.in_proj_bias is not None else (0, 0, 0)

    def heads(x, w, b):
        y = x @ w.T + b  # (n, N, E)
        return y.reshape(y.shape[0], y.shape[1], H, hd).transpose(1, 2, 0, 3)

    out, w = ref_sdpa(heads(q, wq, bq), heads(k, wk, bk), heads(v, wv, bv), bias)
    out = out.transpose(2, 0, 1, 3).reshape(q.shape[0], q.shape[1], E)
    out = out @ npy(m.out_proj.weight).T
    if m.out_proj.bias is not None:
        out = out + npy(m.out_proj.bias)
    return out, (w.mean(axis=1) if average else w)


def test_mha_matches_reference_with_masks():
    torchlite.manual_seed(0)
    m = nn.MultiheadAttention(8, 2)
    L, S, N = 4, 5, 3
    q, k, v = rnd((L, N, 8)), rnd((S, N, 8), 1), rnd((S, N, 8), 2)
    kpm = np.random.default_rng(5).random((N, S)) < 0.3
    kpm[:, 0] = False
    am = rnd((L, S), 6)
    out, w = m(t32(q), t32(k), t32(v), key_padding_mask=torchlite.tensor(kpm),
               attn_mask=t32(am))
    bias = am[None, None] + np.where(kpm, -np.inf, 0.0)[:, None, None, :]
    ref_out, ref_w = ref_mha(m, q, k, v, bias)
    np.testing.assert_allclose(npy(out), ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(w), ref_w, rtol=1e-4, atol=1e-5)
    am_bool = np.random.default_rng(7).random((N * 2, L, S)) < 0.3
    am_bool[..., 0] = False
    out, w = m(t32(q), t32(k), t32(v), attn_mask=torchlite.tensor(am_bool),
               average_attn_weights=False)
    ref_out, ref_w = ref_mha(m, q, k, v, np.where(am_bool, -np.inf, 0.0).reshape(N, 2, L, S),
                             average=False)
    assert tuple(w.shape) == (N, 2, L, S)
    np.testing.assert_allclose(npy(out), ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(w), ref_w, rtol=1e-4, atol=1e-5)


def test_mha_batch_first_unbatched_kdim_vdim():
    torchlite.manual_seed(0)
    m = nn.MultiheadAttention(6, 3, kdim=4, vdim=5, batch_first=True)
    assert m.in_proj_weight is None
    assert [n for n, _ in m.named_parameters()] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight",
        "out_proj.bias"]
    q, k, v = rnd((2, 3, 6)), rnd((2, 4, 4), 1), rnd((2, 4, 5), 2)
    out, w = m(t32(q), t32(k), t32(v))
    ref_out, ref_w = ref_mha(m, q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2))
    np.testing.assert_allclose(npy(out), ref_out.transpose(1, 0, 2), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(w), ref_w, rtol=1e-4, atol=1e-5)
    single, sw = m(t32(q[0]), t32(k[0]), t32(v[0]))
    assert tuple(single.shape) == (3, 6) and tuple(sw.shape) == (3, 4)
    np.testing.assert_allclose(npy(single), ref_out[:, 0], rtol=1e-4, atol=1e-5)
    out, w = m(t32(q), t32(k), t32(v), need_weights=False)
    assert w is None


def test_mha_parameters_and_init():
    torchlite.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, bias=True)
    sd = m.state_dict()
    assert list(sd) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert tuple(sd["in_proj_weight"].shape) == (24, 8)
    assert tuple(sd["out_proj.weight"].shape) == (8, 8)
    assert np.all(npy(m.in_proj_bias) == 0) and np.all(npy(m.out_proj.bias) == 0)
    bound = np.sqrt(6 / (24 + 8))  # xavier_uniform_ on (3E, E)
    assert np.abs(npy(m.in_proj_weight)).max() <= bound
    assert list(nn.MultiheadAttention(8, 2, bias=False).state_dict()) == [
        "in_proj_weight", "out_proj.weight"]
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(7, 2)


def test_mha_gradcheck():
    torchlite.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=2).double()
    q, k, v = t64(rnd((2, 2, 4))), t64(rnd((3, 2, 3), 1)), t64(rnd((3, 2, 2), 2))
    kpm = torchlite.tensor(np.array([[False, True, False], [False, False, True]]))
    params = list(m.parameters())
    assert gradcheck(lambda q, k, v, *ps: m(q, k, v, key_padding_mask=kpm), [q, k, v, *params])


@pytest.mark.parity
@pytest.mark.parametrize("kw,call", [
    (dict(), dict()),
    (dict(batch_first=True, bias=False), dict(average_attn_weights=False)),
    (dict(kdim=5, vdim=3), dict(mask="both")),
    (dict(), dict(mask="bool3d", need_weights=False)),
])
def test_mha_parity(kw, call):
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    m, tm = nn.MultiheadAttention(8, 2, **kw), torch.nn.MultiheadAttention(8, 2, **kw)
    tm.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in m.state_dict().items()})
    L, S, N = 4, 5, 3
    bf = kw.get("batch_first", False)
    shapes = [(L, N, 8), (S, N, kw.get("kdim", 8)), (S, N, kw.get("vdim", 8))]
    arrays = [rnd((s[1], s[0], s[2]) if bf else s, i).astype(np.float32)
              for i, s in enumerate(shapes)]
    ours = [t32(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    extra, textra = {}, {}
    mask = call.pop("mask", None)
    if mask == "both":
        kpm = np.random.default_rng(1).random((N, S)) < 0.3
        kpm[:, 0] = False
        kpm = np.where(kpm, -np.inf, 0.0).astype(np.float32)
        am = rnd((L, S), 9).astype(np.float32)
        extra = dict(key_padding_mask=t32(kpm), attn_mask=t32(am))
        textra = dict(key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(am))
    elif mask == "bool3d":
        am = np.random.default_rng(2).random((N * 2, L, S)) < 0.3
        am[..., 0] = False
        extra, textra = dict(attn_mask=torchlite.tensor(am)), dict(attn_mask=torch.tensor(am))
    out, w = m(*ours, **extra, **call)
    tout, tw = tm(*theirs, **textra, **call)
    np.testing.assert_allclose(npy(out), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    loss, tloss = (out * out).sum(), (tout * tout).sum()
    if w is not None:
        np.testing.assert_allclose(npy(w), tw.detach().numpy(), rtol=1e-4, atol=1e-5)
        loss, tloss = loss + (w * w).sum(), tloss + (tw * tw).sum()
    loss.backward()
    tloss.backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-4)
    for (name, p), (_, q) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(npy(p.grad), q.grad.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=name)


@pytest.mark.parity
def test_sdpa_parity():
    torch = pytest.importorskip("torch")
    q, k, v = (rnd(s, i).astype(np.float32) for i, s in enumerate([(2, 3, 4, 6), (2, 3, 5, 6),
                                                                    (2, 3, 5, 7)]))
    for kw in (dict(is_causal=True), dict(scale=0.5)):
        ours = [t32(a, requires_grad=True) for a in (q, k, v)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        y = F.scaled_dot_product_attention(*ours, **kw)
        ty = torch.nn.functional.scaled_dot_product_attention(*theirs, **kw)
        np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_attention_on_device(device):
    torchlite.manual_seed(0)
    m = nn.MultiheadAttention(8, 2)
    q = rnd((4, 2, 8))
    kpm = np.zeros((2, 4), bool)
    kpm[0, -1] = True
    ref, ref_w = m(t32(q), t32(q), t32(q), key_padding_mask=torchlite.tensor(kpm))
    m.to(device)
    qd = t32(q).to(device)
    out, w = m(qd, qd, qd, key_padding_mask=torchlite.tensor(kpm).to(device))
    assert out.device.type == device
    np.testing.assert_allclose(out.detach().cpu().numpy(), npy(ref), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.detach().cpu().numpy(), npy(ref_w), rtol=1e-4, atol=1e-5)
    (out.sum() + F.scaled_dot_product_attention(qd, qd, qd, is_causal=True).sum()).backward()
    assert m.in_proj_weight.grad.device.type == device



# -- A query whose keys are all masked: scaled_dot_product_attention gives output 0 and gradient 0
# (PyTorch 2.13), multi-head attention NaN or 0 exactly where PyTorch's does.


def ref_sdpa_masked(q, k, v, allowed):
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
    np.testing.assert_allclose(got, ref_sdpa_masked(q, k, v, m), rtol=1e-5, atol=1e-6)


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
    np.testing.assert_allclose(out, ref_sdpa_masked(npy(q), npy(k), npy(v), allowed), rtol=1e-5,
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


def test_sdpa_enable_gqa_repeats_key_value_heads():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 6, 4, 3)), rng.normal(size=(2, 2, 5, 3)), \
        rng.normal(size=(2, 2, 5, 2))
    sdpa = torchlite.nn.functional.scaled_dot_product_attention
    got = sdpa(torchlite.tensor(q), torchlite.tensor(k), torchlite.tensor(v), enable_gqa=True)
    ref = sdpa(torchlite.tensor(q), torchlite.tensor(np.repeat(k, 3, axis=1)),
               torchlite.tensor(np.repeat(v, 3, axis=1)))
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-12)
    assert torchlite.autograd.gradcheck(
        lambda a, b, c: sdpa(a, b, c, enable_gqa=True, is_causal=True),
        [torchlite.tensor(x[:1], requires_grad=True) for x in (q, k, v)])
    with pytest.raises(RuntimeError, match="divide"):
        sdpa(torchlite.tensor(q), torchlite.tensor(q[:, :4]), torchlite.tensor(v),
             enable_gqa=True)


@pytest.mark.parity
def test_sdpa_enable_gqa_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 8, 5, 4)), rng.normal(size=(2, 2, 6, 4)), \
        rng.normal(size=(2, 2, 6, 3))
    got = torchlite.nn.functional.scaled_dot_product_attention(
        torchlite.tensor(q), torchlite.tensor(k), torchlite.tensor(v), enable_gqa=True,
        is_causal=True)
    ref = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), enable_gqa=True, is_causal=True)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-12)
