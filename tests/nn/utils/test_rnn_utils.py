"""torchlite.nn.utils.rnn: pad_sequence, unpad_sequence, PackedSequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpack_sequence (NumPy references, gradchecks, parity)."""

import numpy as np
import pytest

import torchlite
from torchlite.autograd import gradcheck
from torchlite.nn.utils import rnn


def seqs(lengths, feat=(3,), seed=0, dtype=np.float32):
    r = np.random.default_rng(seed)
    return [r.standard_normal((n, *feat)).astype(dtype) for n in lengths]


def ref_pad(arrays, batch_first=False, value=0.0, side="right"):
    T = max(a.shape[0] for a in arrays)
    out = np.full((len(arrays), T) + arrays[0].shape[1:], value, dtype=arrays[0].dtype)
    for b, a in enumerate(arrays):
        if side == "right":
            out[b, :len(a)] = a
        else:
            out[b, T - len(a):] = a
    return out if batch_first else np.swapaxes(out, 0, 1)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("feat", [(), (3,), (2, 2)])
def test_pad_sequence_matches_reference(batch_first, side, feat):
    arrays = seqs([2, 5, 1, 3], feat)
    out = rnn.pad_sequence([torchlite.tensor(a) for a in arrays], batch_first=batch_first,
                           padding_value=-7.0, padding_side=side)
    np.testing.assert_array_equal(out.numpy(), ref_pad(arrays, batch_first, -7.0, side))


def test_pad_sequence_details():
    a, b = torchlite.ones(2, dtype=torchlite.int64), torchlite.ones(1)
    out = rnn.pad_sequence([a, b], batch_first=True, padding_value=-1.5)
    assert out.dtype == torchlite.int64 and out.tolist() == [[1, 1], [1, -1]]  # first's dtype
    assert rnn.pad_sequence((torchlite.ones(2), torchlite.ones(2))).shape == (2, 2)
    assert rnn.pad_sequence(torchlite.ones(2, 3)).shape == (3, 2)  # a tensor: its rows
    assert rnn.pad_sequence([torchlite.zeros(0, 2), torchlite.zeros(0, 2)]).shape == (0, 2, 2)
    with pytest.raises(RuntimeError, match="empty list"):
        rnn.pad_sequence([])
    with pytest.raises(RuntimeError, match="padding_side"):
        rnn.pad_sequence([a], padding_side="middle")
    with pytest.raises(RuntimeError, match="Expected iterable"):
        rnn.pad_sequence(5)
    with pytest.raises(RuntimeError, match="trailing dims"):
        rnn.pad_sequence([torchlite.ones(2, 3), torchlite.ones(1, 4)])


def test_pad_sequence_gradcheck():
    arrays = seqs([3, 1, 2], (2,), dtype=np.float64)
    ts = [torchlite.tensor(a, requires_grad=True) for a in arrays]
    for side in ("right", "left"):
        assert gradcheck(lambda *xs, s=side: rnn.pad_sequence(xs, True, 0.5, s), ts)


def test_unpad_sequence_round_trip_and_leaves_its_input_alone():
    arrays = seqs([2, 4, 1])
    padded = rnn.pad_sequence([torchlite.tensor(a) for a in arrays])
    shape = tuple(padded.shape)
    back = rnn.unpad_sequence(padded, torchlite.tensor([2, 4, 1]))
    assert tuple(padded.shape) == shape
    for a, t in zip(arrays, back):
        np.testing.assert_array_equal(t.numpy(), a)
    back = rnn.unpad_sequence(padded.transpose(0, 1), [2, 4, 1], batch_first=True)
    np.testing.assert_array_equal(back[1].numpy(), arrays[1])


def ref_pack(arrays):
    """(data, batch_sizes) of sequences sorted by decreasing length."""
    T = max(len(a) for a in arrays)
    rows, sizes = [], []
    for t in range(T):
        live = [a[t] for a in arrays if len(a) > t]
        rows += live
        sizes.append(len(live))
    return np.stack(rows), np.array(sizes)


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_sequence_sorted(batch_first):
    arrays = seqs([5, 3, 3, 1])
    padded = rnn.pad_sequence([torchlite.tensor(a) for a in arrays], batch_first=batch_first)
    p = rnn.pack_padded_sequence(padded, [5, 3, 3, 1], batch_first=batch_first)
    data, sizes = ref_pack(arrays)
    np.testing.assert_array_equal(p.data.numpy(), data)
    assert p.batch_sizes.tolist() == sizes.tolist() and p.batch_sizes.dtype == torchlite.int64
    assert p.batch_sizes.device.type == "cpu"
    assert p.sorted_indices is None and p.unsorted_indices is None
    assert isinstance(p, tuple) and len(p) == 4 and p[0] is p.data
    out, lengths = rnn.pad_packed_sequence(p, batch_first=batch_first)
    np.testing.assert_array_equal(out.numpy(), padded.numpy())
    assert lengths.tolist() == [5, 3, 3, 1] and lengths.dtype == torchlite.int64


def test_pack_unsorted_and_back():
    lengths = [2, 5, 1, 3]
    arrays = seqs(lengths)
    padded = rnn.pad_sequence([torchlite.tensor(a) for a in arrays])
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn.pack_padded_sequence(padded, lengths)
    p = rnn.pack_padded_sequence(padded, torchlite.tensor(lengths), enforce_sorted=False)
    assert p.sorted_indices.tolist() == [1, 3, 0, 2]
    assert p.unsorted_indices.tolist() == [2, 0, 3, 1]
    data, _ = ref_pack([arrays[i] for i in (1, 3, 0, 2)])
    np.testing.assert_array_equal(p.data.numpy(), data)
    out, lens = rnn.pad_packed_sequence(p, padding_value=9.0, total_length=7)
    assert lens.tolist() == lengths and tuple(out.shape) == (7, 4, 3)
    np.testing.assert_array_equal(out.numpy(), np.concatenate(
        [ref_pad(arrays, value=9.0), np.full((2, 4, 3), 9.0, np.float32)]))
    for a, t in zip(arrays, rnn.unpack_sequence(p)):
        np.testing.assert_array_equal(t.numpy(), a)
    q = rnn.pack_sequence([torchlite.tensor(a) for a in arrays], enforce_sorted=False)
    np.testing.assert_array_equal(q.data.numpy(), p.data.numpy())


def test_pack_errors():
    x = torchlite.zeros(3, 2, 4)
    with pytest.raises(RuntimeError, match="greater than 0"):
        rnn.pack_padded_sequence(x, [3, 0])
    with pytest.raises(RuntimeError, match="exceeds"):
        rnn.pack_padded_sequence(x, [4, 1])  # (PyTorch reads past the end here)
    with pytest.raises(RuntimeError, match="2 sequences|does not hold"):
        rnn.pack_padded_sequence(x, [3, 2, 1])
    p = rnn.pack_padded_sequence(x, [3, 1])
    with pytest.raises(ValueError, match="total_length"):
        rnn.pad_packed_sequence(p, total_length=2)
    with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
        rnn.PackedSequence(p.data, _FakeCuda())


class _FakeCuda:
    device = torchlite.device("cuda")


def test_pack_gradcheck():
    lengths = [2, 4, 1]
    x = torchlite.tensor(np.random.default_rng(3).standard_normal((4, 3, 2)),
                         requires_grad=True)

    def f(x):
        p = rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        return rnn.pad_packed_sequence(p, padding_value=2.0)[0] * 3

    assert gradcheck(f, [x])
    # the padded steps get no gradient
    f(x).sum().backward()
    assert x.grad.numpy()[3, 0].tolist() == [0.0, 0.0] and x.grad.numpy()[0, 0].tolist() == [3, 3]


def test_packed_sequence_conversions():
    p = rnn.pack_sequence([torchlite.ones(3, 2), torchlite.ones(1, 2)])
    assert p.to(torchlite.float32) is p
    d = p.double()
    assert d.data.dtype == torchlite.float64 and d.batch_sizes is p.batch_sizes
    assert p.long().data.dtype == torchlite.int64 and not p.is_cuda and not p.is_pinned()
    assert p.cpu() is p
    q = rnn.pack_sequence([torchlite.ones(1), torchlite.ones(3)], enforce_sorted=False)
    assert q.double().unsorted_indices.tolist() == [1, 0]
    assert rnn.invert_permutation(torchlite.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert rnn.invert_permutation(None) is None


def test_on_device(device):
    arrays = seqs([2, 4, 1])
    ts = [torchlite.tensor(a, device=device) for a in arrays]
    padded = rnn.pad_sequence(ts, batch_first=True)
    assert padded.device.type == device
    p = rnn.pack_padded_sequence(padded, [2, 4, 1], batch_first=True, enforce_sorted=False)
    assert p.data.device.type == device and p.batch_sizes.device.type == "cpu"
    out, lengths = rnn.pad_packed_sequence(p, batch_first=True)
    np.testing.assert_array_equal(out.cpu().numpy(), ref_pad(arrays, True))
    assert lengths.tolist() == [2, 4, 1]


@pytest.mark.parity
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packing_parity(batch_first, enforce_sorted):
    torch = pytest.importorskip("torch")
    tr = torch.nn.utils.rnn
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    arrays = seqs(lengths, (2,))
    for side in ("right", "left"):
        ours = rnn.pad_sequence([torchlite.tensor(a) for a in arrays], batch_first, 0.5, side)
        theirs = tr.pad_sequence([torch.tensor(a) for a in arrays], batch_first, 0.5, side)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = torchlite.tensor(ref_pad(arrays, batch_first), requires_grad=True)
    tx = torch.tensor(ref_pad(arrays, batch_first), requires_grad=True)
    p = rnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    tp = tr.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(p.data.detach().numpy(), tp.data.detach().numpy())
    assert p.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for a, b in ((p.sorted_indices, tp.sorted_indices), (p.unsorted_indices,
                                                          tp.unsorted_indices)):
        assert (a is None and b is None) or a.tolist() == b.tolist()
    out, lens = rnn.pad_packed_sequence(p, batch_first, -1.0, 6)
    tout, tlens = tr.pad_packed_sequence(tp, batch_first, -1.0, 6)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    assert lens.tolist() == tlens.tolist()
    w = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * torchlite.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    for a, b in zip(rnn.unpack_sequence(p), tr.unpack_sequence(tp)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
