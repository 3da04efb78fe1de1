"""TransformerDecoderLayer, TransformerDecoder and Transformer: reference, shapes, keys, training,
and parity with PyTorch (outputs and gradients with copied weights)."""

import numpy as np
import pytest
from _nn_checks import npy, t32, t64
from test_attention import ref_mha
from test_transformer import gelu, layer_norm, relu, rnd

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.autograd import gradcheck

DEC_KEYS = ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
            "self_attn.out_proj.bias", "multihead_attn.in_proj_weight",
            "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight",
            "multihead_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
            "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
            "norm3.weight", "norm3.bias"]


def ref_decoder_layer(m, x, mem, act, self_bias=None, cross_bias=None):
    """Sequence-first reference of an eval-mode (no dropout) decoder layer."""
    def sa(y):
        return ref_mha(m.self_attn, y, y, y, self_bias)[0]

    def ca(y):
        return ref_mha(m.multihead_attn, y, mem, mem, cross_bias)[0]

    def ff(y):
        h = act(y @ npy(m.linear1.weight).T + npy(m.linear1.bias))
        return h @ npy(m.linear2.weight).T + npy(m.linear2.bias)

    if m.norm_first:
        x = x + sa(layer_norm(x, m.norm1))
        x = x + ca(layer_norm(x, m.norm2))
        return x + ff(layer_norm(x, m.norm3))
    x = layer_norm(x + sa(x), m.norm1)
    x = layer_norm(x + ca(x), m.norm2)
    return layer_norm(x + ff(x), m.norm3)


def test_square_subsequent_mask_values():
    m = nn.Transformer.generate_square_subsequent_mask(4)
    assert m.dtype == torchlite.float32 and tuple(m.shape) == (4, 4)
    expected = np.array([[0, -np.inf, -np.inf, -np.inf], [0, 0, -np.inf, -np.inf],
                         [0, 0, 0, -np.inf], [0, 0, 0, 0]])
    np.testing.assert_array_equal(npy(m), expected)
    m64 = nn.Transformer.generate_square_subsequent_mask(3, dtype=torchlite.float64)
    assert m64.dtype == torchlite.float64
    np.testing.assert_array_equal(npy(nn.Transformer().generate_square_subsequent_mask(1)), [[0]])


@pytest.mark.parametrize("norm_first,activation,act", [(False, "relu", relu),
                                                       (True, "gelu", gelu)])
def test_decoder_layer_matches_reference(norm_first, activation, act):
    torchlite.manual_seed(0)
    m = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, norm_first=norm_first,
                                   activation=activation)
    m.eval()
    T, S, N = 4, 5, 3
    x, mem = rnd((T, N, 8)), rnd((S, N, 8), 1)
    mkpm = np.zeros((N, S), bool)
    mkpm[1, 3:] = True
    causal = nn.Transformer.generate_square_subsequent_mask(T)
    out = m(t32(x), t32(mem), tgt_mask=causal, memory_key_padding_mask=torchlite.tensor(mkpm))
    expected = ref_decoder_layer(m, x, mem, act, npy(causal)[None, None],
                                 np.where(mkpm, -np.inf, 0.0)[:, None, None, :])
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)


def test_shapes_batch_first_and_unbatched():
    torchlite.manual_seed(0)
    for batch_first in (False, True):
        m = nn.Transformer(8, 2, 1, 2, 16, dropout=0.0, batch_first=batch_first)
        src = t32(rnd((2, 5, 8) if batch_first else (5, 2, 8)))
        tgt = t32(rnd((2, 3, 8) if batch_first else (3, 2, 8), 1))
        assert tuple(m(src, tgt).shape) == tuple(tgt.shape)
        out = m(t32(rnd((5, 8))), t32(rnd((3, 8), 1)))
        assert tuple(out.shape) == (3, 8)
    layer = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
    assert tuple(layer(t32(rnd((2, 3, 8))), t32(rnd((2, 6, 8)))).shape) == (2, 3, 8)


def test_transformer_argument_errors():
    m = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="batch number"):
        m(t32(rnd((5, 2, 8))), t32(rnd((3, 4, 8))))
    with pytest.raises(RuntimeError, match="d_model"):
        m(t32(rnd((5, 2, 8))), t32(rnd((3, 2, 6))))
    with pytest.raises(RuntimeError):
        nn.TransformerDecoderLayer(8, 2, activation="swish")
    with pytest.raises(RuntimeError, match="attn_mask"):  # a causal hint needs its mask
        nn.TransformerDecoderLayer(8, 2, 16)(t32(rnd((3, 2, 8))), t32(rnd((4, 2, 8))),
                                             tgt_is_causal=True)


def test_state_dict_keys_and_independent_layers():
    m = nn.Transformer(8, 2, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=16)
    keys = list(m.state_dict())
    dec = [k for k in keys if k.startswith("decoder.")]
    assert dec == [f"decoder.layers.{i}.{k}" for i in range(2) for k in DEC_KEYS] + \
        ["decoder.norm.weight", "decoder.norm.bias"]
    assert keys[:len(keys) - len(dec)][-2:] == ["encoder.norm.weight", "encoder.norm.bias"]
    assert keys[0] == "encoder.layers.0.self_attn.in_proj_weight"
    assert tuple(m.state_dict()["decoder.layers.1.multihead_attn.in_proj_weight"].shape) == (24, 8)
    a, b = m.decoder.layers
    assert a.multihead_attn.in_proj_weight is not b.multihead_attn.in_proj_weight
    no_bias = nn.TransformerDecoderLayer(8, 2, 16, bias=False)
    assert [k for k in no_bias.state_dict() if k.endswith("bias")] == []


def test_transformer_xavier_init():
    torchlite.manual_seed(0)
    m = nn.Transformer(64, 4, 1, 1, dim_feedforward=256)
    for name, p in m.named_parameters():
        w = npy(p)
        if p.ndim > 1:
            fan_out, fan_in = w.shape
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            assert np.abs(w).max() <= bound + 1e-7, name
            assert np.abs(w).max() > 0.97 * bound, name  # Linear's own bound is smaller
        elif ".norm" in name and name.endswith("weight"):
            np.testing.assert_array_equal(w, 1.0)


def test_decoder_stack_custom_parts_and_final_norm():
    torchlite.manual_seed(0)
    layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)
    dec = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(8))
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 1)
    m = nn.Transformer(8, 2, custom_encoder=enc, custom_decoder=dec)
    assert m.encoder is enc and m.decoder is dec
    src, tgt = t32(rnd((5, 2, 8))), t32(rnd((3, 2, 8), 1))
    mem = enc(src)
    y = tgt
    for sub in dec.layers:
        y = sub(y, mem)
    np.testing.assert_allclose(npy(m(src, tgt)), npy(dec.norm(y)), rtol=1e-5, atol=1e-6)


def test_decoder_layer_gradcheck():
    torchlite.manual_seed(0)
    m = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0).double()
    params = list(m.parameters())
    x, mem = t64(rnd((3, 2, 4))), t64(rnd((2, 2, 4), 1))
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=torchlite.float64)
    assert gradcheck(lambda x, mem, *ps: m(x, mem, tgt_mask=mask), [x, mem, *params])


def test_dropout_only_in_training():
    torchlite.manual_seed(0)
    m = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.5)
    x, mem = t32(rnd((4, 2, 8))), t32(rnd((3, 2, 8), 1))
    m.eval()
    np.testing.assert_array_equal(npy(m(x, mem)), npy(m(x, mem)))
    m.train()
    assert not np.allclose(npy(m(x, mem)), npy(m(x, mem)))


def test_seq2seq_copy_task_learns():
    """Embedding -> Transformer -> Linear learns to copy a token sequence (teacher forcing)."""
    torchlite.manual_seed(0)
    V, L, N, D = 7, 5, 16, 32  # token 0 is BOS
    emb, pos = nn.Embedding(V, D), nn.Parameter(torchlite.randn(L, 1, D) * 0.1)
    model = nn.Transformer(D, 4, 1, 1, 64, dropout=0.0)
    head = nn.Linear(D, V)
    params = [*emb.parameters(), pos, *model.parameters(), *head.parameters()]
    opt = torchlite.optim.Adam(params, lr=3e-3)
    src = np.random.default_rng(0).integers(1, V, size=(L, N))
    tgt_in = np.concatenate([np.zeros((1, N), np.int64), src[:-1]])
    src_t, tgt_t, y = torchlite.tensor(src), torchlite.tensor(tgt_in), torchlite.tensor(src)
    mask = nn.Transformer.generate_square_subsequent_mask(L)
    losses = []
    for _ in range(40):
        out = model(emb(src_t) + pos, emb(tgt_t) + pos, tgt_mask=mask)
        loss = F.cross_entropy(head(out).reshape(L * N, V), y.reshape(L * N))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.5 * losses[0], losses


# ---- parity with PyTorch ----------------------------------------------------------------------

def _from_torch(ours, theirs):
    """Copy a PyTorch module's weights into ours (the direction a user loading a checkpoint
    takes); load_state_dict checks the keys and shapes."""
    ours.load_state_dict({k: torchlite.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


def _to_torch(torch, ours, theirs):
    theirs.load_state_dict({k: torch.from_numpy(npy(v).copy())
                            for k, v in ours.state_dict().items()})


def _compare_grads(ours, theirs, tol=1e-4):
    named = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(named)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(npy(p.grad), named[name].grad.numpy(), rtol=1e-3, atol=tol,
                                   err_msg=name)


def _assert_output_and_grads(m, tm, y, ty, inputs):
    """Outputs equal; after backward of sum(y^2), the inputs' and all parameters' grads too."""
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    for ours, theirs in inputs:
        np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-3, atol=1e-4)
    _compare_grads(m, tm)


def _inputs(torch, shape, seed):
    x = rnd(shape, seed).astype(np.float32)
    return t32(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _padding(N, S, seed):
    m = np.random.default_rng(seed).random((N, S)) < 0.3
    m[:, 0] = False  # keep a key for every query (all-masked rows are MultiheadAttention's topic)
    return m


# PyTorch warns about a float tgt_mask beside boolean padding masks, and about nested tensors
QUIET = pytest.mark.filterwarnings("ignore::UserWarning")
CASES = [dict(), dict(batch_first=True, activation="gelu"), dict(norm_first=True),
         dict(batch_first=True, norm_first=True, activation="gelu", layer_norm_eps=1e-3)]


@pytest.mark.parity
@QUIET
@pytest.mark.parametrize("kw", CASES)
def test_decoder_layer_parity(kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, **kw)
    m = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, **kw)
    _from_torch(m, tm)
    m.eval()
    tm.eval()
    T, S, N = 4, 6, 3
    bf = kw.get("batch_first", False)
    x, tx = _inputs(torch, (N, T, 8) if bf else (T, N, 8), 0)
    mem, tmem = _inputs(torch, (N, S, 8) if bf else (S, N, 8), 1)
    tkpm, mkpm = _padding(N, T, 2), _padding(N, S, 3)
    causal = nn.Transformer.generate_square_subsequent_mask(T)
    tcausal = torch.nn.Transformer.generate_square_subsequent_mask(T)
    y = m(x, mem, tgt_mask=causal, tgt_key_padding_mask=torchlite.tensor(tkpm),
          memory_key_padding_mask=torchlite.tensor(mkpm), tgt_is_causal=True)
    ty = tm(tx, tmem, tgt_mask=tcausal, tgt_key_padding_mask=torch.tensor(tkpm),
            memory_key_padding_mask=torch.tensor(mkpm), tgt_is_causal=True)
    _assert_output_and_grads(m, tm, y, ty, [(x, tx), (mem, tmem)])


@pytest.mark.parity
@QUIET
def test_decoder_layer_float_memory_mask_parity():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    tm = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)
    m = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)
    _from_torch(m, tm)
    x, mem = rnd((4, 2, 8)).astype(np.float32), rnd((5, 2, 8), 1).astype(np.float32)
    mm = rnd((4, 5), 2).astype(np.float32)
    y = m(t32(x), t32(mem), memory_mask=t32(mm))
    ty = tm(torch.from_numpy(x), torch.from_numpy(mem), memory_mask=torch.from_numpy(mm))
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parity
@QUIET
@pytest.mark.parametrize("kw", CASES)
def test_transformer_parity(kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    args = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                dim_feedforward=16, **kw)
    tm = torch.nn.Transformer(**args)
    m = nn.Transformer(**args)
    assert list(m.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert tuple(m.state_dict()[k].shape) == tuple(v.shape), k
    _from_torch(m, tm)
    m.eval()
    tm.eval()
    S, T, N = 6, 5, 3
    bf = kw.get("batch_first", False)
    src, tsrc = _inputs(torch, (N, S, 8) if bf else (S, N, 8), 0)
    tgt, ttgt = _inputs(torch, (N, T, 8) if bf else (T, N, 8), 1)
    skpm, tkpm = _padding(N, S, 2), _padding(N, T, 3)
    y = m(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(T),
          src_key_padding_mask=torchlite.tensor(skpm),
          tgt_key_padding_mask=torchlite.tensor(tkpm),
          memory_key_padding_mask=torchlite.tensor(skpm))
    ty = tm(tsrc, ttgt, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T),
            src_key_padding_mask=torch.tensor(skpm), tgt_key_padding_mask=torch.tensor(tkpm),
            memory_key_padding_mask=torch.tensor(skpm))
    _assert_output_and_grads(m, tm, y, ty, [(src, tsrc), (tgt, ttgt)])


@pytest.mark.parity
@QUIET
def test_transformer_weights_load_both_ways_and_no_grad_eval():
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    m = nn.Transformer(8, 2, 1, 2, 16, batch_first=True)
    tm = torch.nn.Transformer(8, 2, 1, 2, 16, batch_first=True)
    _to_torch(torch, m, tm)  # torchlite -> PyTorch
    m.eval()
    tm.eval()
    src, tgt = rnd((2, 6, 8)).astype(np.float32), rnd((2, 4, 8), 1).astype(np.float32)
    mask = np.triu(np.ones((4, 4), bool), 1)  # boolean causal mask
    kpm = np.zeros((2, 6), bool)
    kpm[1, 4:] = True
    with torchlite.no_grad():
        y = m(t32(src), t32(tgt), tgt_mask=torchlite.tensor(mask))
        yp = m(t32(src), t32(tgt), src_key_padding_mask=torchlite.tensor(kpm),
               memory_key_padding_mask=torchlite.tensor(kpm))
    with torch.no_grad():  # PyTorch's inference fast paths (nested tensors in the encoder)
        ty = tm(torch.from_numpy(src), torch.from_numpy(tgt), tgt_mask=torch.from_numpy(mask))
        typ = tm(torch.from_numpy(src), torch.from_numpy(tgt),
                 src_key_padding_mask=torch.from_numpy(kpm),
                 memory_key_padding_mask=torch.from_numpy(kpm))
    np.testing.assert_allclose(npy(y), ty.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(npy(yp), typ.numpy(), rtol=1e-4, atol=1e-4)
    # unbatched
    y1 = m(t32(src[0]), t32(tgt[0]), tgt_mask=torchlite.tensor(mask))
    ty1 = tm(torch.from_numpy(src[0]), torch.from_numpy(tgt[0]), tgt_mask=torch.from_numpy(mask))
    np.testing.assert_allclose(npy(y1), ty1.detach().numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parity
@QUIET
def test_square_subsequent_mask_and_init_parity():
    torch = pytest.importorskip("torch")
    for sz in (1, 3, 6):
        np.testing.assert_array_equal(npy(nn.Transformer.generate_square_subsequent_mask(sz)),
                                      torch.nn.Transformer.generate_square_subsequent_mask(sz))
    torch.manual_seed(0)
    torchlite.manual_seed(0)
    tm, m = torch.nn.Transformer(64, 4, 1, 1, 256), nn.Transformer(64, 4, 1, 1, 256)
    theirs = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        a, b = npy(p), theirs[name].detach().numpy()
        # same distribution per tensor: equal bounds (max |w|) and spreads, within sampling
        # noise (small for the >= 4096-element matrices, larger for 64-element biases)
        tol = 0.05 if a.size >= 4096 else 0.3
        assert abs(np.abs(a).max() - np.abs(b).max()) <= tol * np.abs(b).max() + 1e-7, name
        assert abs(a.std() - b.std()) <= tol * b.std() + 1e-7, name
