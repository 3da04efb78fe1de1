"""RNN/LSTM/GRU and their cells: NumPy loop references, gradchecks, names and shapes, parity."""

import numpy as np
import pytest
from _nn_checks import npy, t32, t64

import torchlite
import torchlite.nn as nn
from torchlite.autograd import gradcheck


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----------------------------------------------------------------------------------------------
# references: one step of each cell, written from the equations in PyTorch's docs


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = np.split(gates, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    xr, xz, xn = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, relu=False):
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.maximum(pre, 0) if relu else np.tanh(pre)


def ref_layers(m, x, h0, c0=None):
    """Run module m's parameters through the step references: (L, N, *) sequence-first x."""
    mode = type(m).__name__
    D = 2 if m.bidirectional else 1
    hn, cn = [], []
    for layer in range(m.num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            p = {k: npy(getattr(m, k + sfx)).astype(np.float64) if m.bias or "weight" in k
                 else 0.0 for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            args = (p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
            k = layer * D + d
            h, c = h0[k], None if c0 is None else c0[k]
            steps = range(len(x) - 1, -1, -1) if d else range(len(x))
            out = [None] * len(x)
            for t in steps:
                if mode == "LSTM":
                    h, c = lstm_step(x[t], h, c, *args)
                elif mode == "GRU":
                    h = gru_step(x[t], h, *args)
                else:
                    h = rnn_step(x[t], h, *args, relu=m.nonlinearity == "relu")
                out[t] = h
            outs.append(np.stack(out))
            hn.append(h)
            cn.append(c)
        x = np.concatenate(outs, axis=-1)
    return x, np.stack(hn), (np.stack(cn) if c0 is not None else None)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True),
                                dict(num_layers=2, batch_first=True, bias=False)])
def test_forward_matches_reference(cls, kw):
    torchlite.manual_seed(0)
    m = getattr(nn, cls)(5, 4, **kw)
    L, N = 6, 3
    D = 2 if m.bidirectional else 1
    x = rnd((L, N, 5))
    h0 = rnd((m.num_layers * D, N, 4), 1)
    c0 = rnd((m.num_layers * D, N, 4), 2) if cls == "LSTM" else None
    ref_out, ref_h, ref_c = ref_layers(m, x, h0, c0)
    xin = x.transpose(1, 0, 2) if m.batch_first else x
    state = (t32(h0), t32(c0)) if cls == "LSTM" else t32(h0)
    out, hn = m(t32(xin), state)
    if cls == "LSTM":
        hn, cn = hn
        np.testing.assert_allclose(npy(cn), ref_c, rtol=1e-4, atol=1e-5)
    if m.batch_first:
        ref_out = ref_out.transpose(1, 0, 2)
    assert out.dtype == torchlite.float32
    np.testing.assert_allclose(npy(out), ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(hn), ref_h, rtol=1e-4, atol=1e-5)


def test_relu_rnn_default_zero_state_and_unbatched():
    torchlite.manual_seed(0)
    m = nn.RNN(3, 4, nonlinearity="relu")
    x = rnd((5, 3))  # unbatched (L, H_in)
    out, hn = m(t32(x))
    ref_out, ref_h, _ = ref_layers(m, x[:, None], np.zeros((1, 1, 4)))
    assert tuple(out.shape) == (5, 4) and tuple(hn.shape) == (1, 4)
    np.testing.assert_allclose(npy(out), ref_out[:, 0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(hn), ref_h[:, 0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_gradcheck_bidirectional_two_layers(cls):
    torchlite.manual_seed(0)
    m = getattr(nn, cls)(3, 2, num_layers=2, bidirectional=True).double()
    x = t64(rnd((3, 2, 3)))
    h0 = t64(rnd((4, 2, 2), 1))
    params = list(m.parameters())
    if cls == "LSTM":
        c0 = t64(rnd((4, 2, 2), 2))

        def fn(x, h0, c0, *ps):
            out, (hn, cn) = m(x, (h0, c0))
            return out, hn, cn

        assert gradcheck(fn, [x, h0, c0, *params])
    else:
        assert gradcheck(lambda x, h0, *ps: m(x, h0), [x, h0, *params])


@pytest.mark.parametrize("cls,step", [("LSTMCell", lstm_step), ("GRUCell", gru_step),
                                      ("RNNCell", rnn_step)])
def test_cells_match_reference_and_gradcheck(cls, step):
    torchlite.manual_seed(0)
    m = getattr(nn, cls)(5, 4)
    x, h, c = rnd((3, 5)), rnd((3, 4), 1), rnd((3, 4), 2)
    ps = [npy(getattr(m, k)).astype(np.float64)
          for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    if cls == "LSTMCell":
        h1, c1 = m(t32(x), (t32(h), t32(c)))
        rh, rc = step(x, h, c, *ps)
        np.testing.assert_allclose(npy(c1), rc, rtol=1e-4, atol=1e-5)
    else:
        h1 = m(t32(x), t32(h))
        rh = step(x, h, *ps)
    np.testing.assert_allclose(npy(h1), rh, rtol=1e-4, atol=1e-5)
    m.double()
    params = list(m.parameters())
    if cls == "LSTMCell":
        assert gradcheck(lambda x, h, c, *p: m(x, (h, c)), [t64(x), t64(h), t64(c), *params])
        h1, c1 = m(t64(x[0], requires_grad=False))  # unbatched, zero state
        assert tuple(h1.shape) == (4,) and tuple(c1.shape) == (4,)
    else:
        assert gradcheck(lambda x, h, *p: m(x, h), [t64(x), t64(h), *params])


def test_parameter_names_shapes_and_init():
    torchlite.manual_seed(0)
    m = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    sd = m.state_dict()
    names = []
    for layer in range(2):
        for sfx in ("", "_reverse"):
            names += [f"weight_ih_l{layer}{sfx}", f"weight_hh_l{layer}{sfx}",
                      f"bias_ih_l{layer}{sfx}", f"bias_hh_l{layer}{sfx}"]
    assert list(sd) == names
    assert tuple(sd["weight_ih_l0"].shape) == (80, 10)
    assert tuple(sd["weight_ih_l1_reverse"].shape) == (80, 40)
    assert tuple(sd["weight_hh_l1"].shape) == (80, 20)
    assert tuple(sd["bias_hh_l0_reverse"].shape) == (80,)
    bound = 1 / np.sqrt(20)
    assert max(np.abs(npy(p)).max() for p in m.parameters()) <= bound
    g = nn.GRU(3, 5, bias=False)
    assert list(g.state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    assert tuple(g.weight_ih_l0.shape) == (15, 3)
    assert list(nn.GRUCell(3, 5).state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert tuple(nn.LSTMCell(3, 5).weight_hh.shape) == (20, 5)


def test_dropout_between_layers_and_errors():
    torchlite.manual_seed(0)
    m = nn.GRU(4, 6, num_layers=3, dropout=0.5)
    x = t32(rnd((5, 2, 4)))
    m.eval()
    a, b = npy(m(x)[0]), npy(m(x)[0])
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.allclose(npy(m(x)[0]), a)
    with pytest.raises(RuntimeError, match="input_size"):
        m(t32(rnd((5, 2, 3))))
    with pytest.raises(RuntimeError, match="h_0"):
        m(x, t32(rnd((1, 2, 6))))
    with pytest.raises(ValueError):
        nn.RNN(3, 4, nonlinearity="gelu")


# ----------------------------------------------------------------------------------------------
# parity with PyTorch


@pytest.mark.parity
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_parity_bidirectional_two_layers(cls, batch_first):
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    kw = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    m, tm = getattr(nn, cls)(5, 6, **kw), getattr(torch.nn, cls)(5, 6, **kw)
    tm.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in m.state_dict().items()})
    x = rnd((3, 7, 5) if batch_first else (7, 3, 5)).astype(np.float32)
    h = rnd((4, 3, 6), 1).astype(np.float32)
    ours, theirs = t32(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if cls == "LSTM":
        state = (t32(h, requires_grad=True), t32(h * 0.5, requires_grad=True))
        tstate = (torch.tensor(h, requires_grad=True), torch.tensor(h * 0.5, requires_grad=True))
        (out, (hn, cn)), (tout, (thn, tcn)) = m(ours, state), tm(theirs, tstate)
        pairs = [(out, tout), (hn, thn), (cn, tcn)]
    else:
        state, tstate = (t32(h, requires_grad=True),), (torch.tensor(h, requires_grad=True),)
        (out, hn), (tout, thn) = m(ours, state[0]), tm(theirs, tstate[0])
        pairs = [(out, tout), (hn, thn)]
    loss, tloss = 0, 0
    for k, (a, b) in enumerate(pairs):
        np.testing.assert_allclose(npy(a), b.detach().numpy(), rtol=1e-4, atol=1e-5)
        w = rnd(tuple(b.shape), 10 + k).astype(np.float32)
        loss = loss + (a * t32(w)).sum()
        tloss = tloss + (b * torch.from_numpy(w)).sum()
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-4, atol=1e-4)
    for s, ts in zip(state, tstate):
        np.testing.assert_allclose(npy(s.grad), ts.grad.numpy(), rtol=1e-4, atol=1e-4)
    for (name, p), (_, q) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(npy(p.grad), q.grad.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=name)


@pytest.mark.parity
def test_cell_parity():
    torch = pytest.importorskip("torch")
    for cls in ("LSTMCell", "GRUCell", "RNNCell"):
        m, tm = getattr(nn, cls)(5, 4), getattr(torch.nn, cls)(5, 4)
        tm.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in m.state_dict().items()})
        x = rnd((3, 5)).astype(np.float32)
        y, ty = m(t32(x)), tm(torch.from_numpy(x))
        y, ty = (y[0], ty[0]) if cls == "LSTMCell" else (y, ty)
        np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_recurrent_layers_on_device(device):
    torchlite.manual_seed(0)
    x = rnd((5, 2, 3))
    for m in (nn.LSTM(3, 4, num_layers=2, bidirectional=True), nn.GRU(3, 4), nn.RNN(3, 4)):
        ref = m(t32(x))[0]
        m.to(device)
        y = m(t32(x).to(device))[0]
        assert y.device.type == device
        np.testing.assert_allclose(y.detach().cpu().numpy(), npy(ref), rtol=1e-4, atol=1e-5)
        y.sum().backward()
        assert all(p.grad.device.type == device for p in m.parameters())


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_flatten_parameters_is_a_no_op(cls):
    m = cls(3, 4, num_layers=2, bidirectional=True)
    before = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    params = list(m.parameters())
    assert m.flatten_parameters() is None
    assert list(m.parameters()) == params  # the same Parameter objects, as optimizers hold them
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.detach().numpy(), before[k])
    out = m(torchlite.randn(5, 2, 3))[0]
    assert tuple(out.shape) == (5, 2, 8)
