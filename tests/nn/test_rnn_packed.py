"""nn.RNN / LSTM / GRU on a PackedSequence: each sequence gets exactly what running it alone
would give (outputs 0 past its end, h_n at its own last step, the reverse direction starting
there), gradients included; parity with PyTorch."""

import itertools

import numpy as np
import pytest
from _nn_checks import npy

import torchlite
import torchlite.nn as nn
from torchlite.autograd import gradcheck
from torchlite.nn.utils import rnn

LENGTHS = [2, 5, 1, 3]  # unsorted on purpose


def _model(kind, bidirectional=False, num_layers=1, batch_first=False, seed=0):
    torchlite.manual_seed(seed)
    return getattr(nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                             batch_first=batch_first)


def _seqs(dtype=np.float32, seed=1):
    r = np.random.default_rng(seed)
    return [r.standard_normal((n, 3)).astype(dtype) for n in LENGTHS]


def _states(kind, layers_d, batch, seed=2, dtype=np.float32):
    r = np.random.default_rng(seed)
    h = r.standard_normal((layers_d, batch, 4)).astype(dtype)
    c = r.standard_normal((layers_d, batch, 4)).astype(dtype)
    return h, c


def _call(m, kind, x, h, c):
    if kind == "LSTM":
        out, (hn, cn) = m(x, (h, c))
        return out, hn, cn
    out, hn = m(x, h)
    return out, hn, None


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_packed_equals_each_sequence_alone(kind, bidirectional, num_layers):
    m = _model(kind, bidirectional, num_layers)
    D = 2 if bidirectional else 1
    arrays = _seqs()
    h0, c0 = _states(kind, num_layers * D, len(arrays))
    p = rnn.pack_sequence([torchlite.tensor(a) for a in arrays], enforce_sorted=False)
    out, hn, cn = _call(m, kind, p, torchlite.tensor(h0), torchlite.tensor(c0))
    assert isinstance(out, rnn.PackedSequence)
    assert out.batch_sizes is p.batch_sizes and out.sorted_indices is p.sorted_indices
    padded, lengths = rnn.pad_packed_sequence(out, batch_first=True)
    assert lengths.tolist() == LENGTHS and tuple(padded.shape) == (4, 5, D * 4)
    for b, a in enumerate(arrays):
        o, h, c = _call(m, kind, torchlite.tensor(a), torchlite.tensor(h0[:, b]),
                        torchlite.tensor(c0[:, b]))  # unbatched: this sequence alone
        n = len(a)
        np.testing.assert_allclose(npy(padded)[b, :n], npy(o), rtol=1e-5, atol=1e-6)
        assert not npy(padded)[b, n:].any()  # 0 past the end
        np.testing.assert_allclose(npy(hn)[:, b], npy(h), rtol=1e-5, atol=1e-6)
        if kind == "LSTM":
            np.testing.assert_allclose(npy(cn)[:, b], npy(c), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_gradients_equal_each_sequence_alone(kind):
    m = _model(kind, bidirectional=True)
    arrays = _seqs()
    xs = [torchlite.tensor(a, requires_grad=True) for a in arrays]
    p = rnn.pack_sequence(xs, enforce_sorted=False)
    if kind == "LSTM":
        out, (hn, cn) = m(p)
    else:
        (out, hn), cn = m(p), None
    padded, _ = rnn.pad_packed_sequence(out)
    loss = (padded * padded).sum() + hn.sum() + (cn.sum() if cn is not None else 0)
    loss.backward()
    grads = [npy(x.grad) for x in xs]
    pgrads = {n: npy(p.grad) for n, p in m.named_parameters()}
    m.zero_grad()
    for a in arrays:
        x = torchlite.tensor(a, requires_grad=True)
        if kind == "LSTM":
            o, (h, c) = m(x)
            total = (o * o).sum() + h.sum() + c.sum()
        else:
            o, h = m(x)
            total = (o * o).sum() + h.sum()
        total.backward()
        np.testing.assert_allclose(grads.pop(0), npy(x.grad), rtol=1e-4, atol=1e-5)
    for n, p in m.named_parameters():
        np.testing.assert_allclose(pgrads[n], npy(p.grad), rtol=1e-4, atol=1e-5, err_msg=n)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_gradcheck(kind):
    m = _model(kind, bidirectional=True).double()
    arrays = _seqs(np.float64)
    xs = [torchlite.tensor(a, requires_grad=True) for a in arrays]
    h0, c0 = (torchlite.tensor(s, requires_grad=True) for s in _states(kind, 2, 4,
                                                                       dtype=np.float64))
    params = list(m.parameters())

    def f(*args):
        seqs, h, c = args[:4], args[4], args[5]  # (4 sequences)
        out, hn, cn = _call(m, kind, rnn.pack_sequence(seqs, enforce_sorted=False), h, c)
        res = [rnn.pad_packed_sequence(out)[0], hn]
        return tuple(res + ([cn] if cn is not None else []))

    assert gradcheck(f, [*xs, h0, c0])  # inputs and initial states
    assert gradcheck(lambda *ps: f(*xs, h0, c0), params)  # parameters


def test_packed_batch_first_is_ignored_for_the_packed_input():
    m, mb = _model("GRU"), _model("GRU", batch_first=True)
    p = rnn.pack_sequence([torchlite.tensor(a) for a in _seqs()], enforce_sorted=False)
    np.testing.assert_array_equal(npy(m(p)[0].data), npy(mb(p)[0].data))


def test_packed_input_errors():
    m = _model("LSTM")
    p = rnn.pack_sequence([torchlite.ones(2, 5)])
    with pytest.raises(RuntimeError, match="input_size"):
        m(p)
    for enforce_sorted in (True, False):
        pair = [torchlite.ones(2, 3), torchlite.ones(1, 3)]
        p = rnn.pack_sequence(pair if enforce_sorted else pair[::-1],
                              enforce_sorted=enforce_sorted)
        with pytest.raises(RuntimeError, match="Expected h_0 size"):
            m(p, (torchlite.zeros(1, 3, 4), torchlite.zeros(1, 3, 4)))


def test_packed_on_device(device):
    m = _model("LSTM", bidirectional=True)
    arrays = _seqs()
    p = rnn.pack_sequence([torchlite.tensor(a) for a in arrays], enforce_sorted=False)
    ref, (rh, _) = m(p)
    m.to(device)
    out, (h, _) = m(p.to(device))
    assert out.data.device.type == device
    np.testing.assert_allclose(npy(out.data), npy(ref.data), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(h), npy(rh), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("kind,bidirectional,num_layers,batch_first,enforce_sorted", [
    c for c in itertools.product(["RNN", "LSTM", "GRU"], [False, True], [1, 2], [False, True],
                                 [False, True])])
def test_packed_rnn_parity(kind, bidirectional, num_layers, batch_first, enforce_sorted):
    torch = pytest.importorskip("torch")
    tr = torch.nn.utils.rnn
    m = _model(kind, bidirectional, num_layers, batch_first)
    tm = getattr(torch.nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                                 batch_first=batch_first)
    tm.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in m.state_dict().items()})
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    r = np.random.default_rng(1)
    arrays = [r.standard_normal((n, 3)).astype(np.float32) for n in lengths]
    D = 2 if bidirectional else 1
    h0, c0 = _states(kind, num_layers * D, 4)
    xs = [torchlite.tensor(a, requires_grad=True) for a in arrays]
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    pad = rnn.pad_sequence(xs, batch_first=batch_first)
    tpad = tr.pad_sequence(txs, batch_first=batch_first)
    p = rnn.pack_padded_sequence(pad, lengths, batch_first, enforce_sorted)
    tp = tr.pack_padded_sequence(tpad, lengths, batch_first, enforce_sorted)
    H, C = torchlite.tensor(h0, requires_grad=True), torchlite.tensor(c0, requires_grad=True)
    TH, TC = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    out, hn, cn = _call(m, kind, p, H, C)
    tout, thn, tcn = _call(tm, kind, tp, TH, TC)
    np.testing.assert_allclose(npy(out.data), tout.data.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(npy(hn), thn.detach().numpy(), rtol=1e-5, atol=1e-5)
    o, _ = rnn.pad_packed_sequence(out, batch_first)
    to, _ = tr.pad_packed_sequence(tout, batch_first)
    loss, tloss = (o * o).sum() + hn.sum() * 0.5, (to * to).sum() + thn.sum() * 0.5
    if kind == "LSTM":
        np.testing.assert_allclose(npy(cn), tcn.detach().numpy(), rtol=1e-5, atol=1e-5)
        loss, tloss = loss + cn.sum(), tloss + tcn.sum()
    loss.backward()
    tloss.backward()
    for a, b in zip(xs + [H] + ([C] if kind == "LSTM" else []),
                    txs + [TH] + ([TC] if kind == "LSTM" else [])):
        np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (n, a), (_, b) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=n)
