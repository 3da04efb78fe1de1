import numpy as np
import pytest
from _nn_checks import check_fn_grads, layout, npy, parity, rnd, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F

IDX = np.array([[0, 2, 2], [4, 0, 1]])


def test_lookup_shape_layout_and_init():
    torchlite.manual_seed(0)
    e = nn.Embedding(500, 8)
    assert layout(e) == {"weight": (500, 8)}
    w = npy(e.weight)
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05  # N(0, 1)
    out = e(torchlite.tensor(IDX))
    assert tuple(out.shape) == (2, 3, 8) and out.dtype == torchlite.float32
    np.testing.assert_array_equal(npy(out), w[IDX])


def test_gradient_accumulates_repeated_rows():
    e = nn.Embedding(5, 3)
    g = rnd((2, 3, 3), 1).astype(np.float32)
    (e(torchlite.tensor(IDX)) * t32(g)).sum().backward()
    ref = np.zeros((5, 3))
    np.add.at(ref, IDX.reshape(-1), g.reshape(-1, 3))
    np.testing.assert_allclose(npy(e.weight.grad), ref, rtol=1e-6)
    check_fn_grads(lambda w: F.embedding(torchlite.tensor(IDX), w), t64(rnd((5, 2), 2)))


def test_padding_idx():
    e = nn.Embedding(5, 3, padding_idx=-1)
    assert e.padding_idx == 4
    assert not npy(e.weight)[4].any()
    e(torchlite.tensor(IDX)).sum().backward()
    assert not npy(e.weight.grad)[4].any()
    assert npy(e.weight.grad)[0].tolist() == [2.0, 2.0, 2.0]
    assert repr(e) == "Embedding(5, 3, padding_idx=4)"
    with pytest.raises(AssertionError):
        nn.Embedding(5, 3, padding_idx=5)


def test_max_norm_renormalises_looked_up_rows():
    w = rnd((5, 3), 3, -3, 3)
    e = nn.Embedding.from_pretrained(t32(w), freeze=False, max_norm=1.0)
    out = e(torchlite.tensor([0, 1]))
    norms = np.linalg.norm(npy(e.weight), axis=1)
    assert (norms[:2] <= 1.0 + 1e-5).all()
    np.testing.assert_allclose(norms[2:], np.linalg.norm(w[2:], axis=1), rtol=1e-6)
    np.testing.assert_allclose(npy(out), npy(e.weight)[:2])


def test_scale_grad_by_freq():
    e = nn.Embedding(5, 2, scale_grad_by_freq=True)
    e(torchlite.tensor(IDX)).sum().backward()
    counts = np.bincount(IDX.reshape(-1), minlength=5)
    np.testing.assert_allclose(npy(e.weight.grad)[:, 0], np.where(counts > 0, 1.0, 0.0))


def test_from_pretrained_freezes_and_shares():
    w = t32(rnd((4, 2), 4))
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    assert e.weight._data is w._data
    with pytest.raises(AssertionError):
        nn.Embedding.from_pretrained(t32(rnd((4,), 0)))


def test_index_errors():
    e = nn.Embedding(5, 2)
    with pytest.raises(IndexError):
        e(torchlite.tensor([5]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        e(t32([1.0]))


def test_one_hot():
    out = F.one_hot(torchlite.tensor([0, 2, 1]))
    assert out.dtype == torchlite.int64
    assert npy(out).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert tuple(F.one_hot(torchlite.tensor([[1], [0]]), 4).shape) == (2, 1, 4)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(torchlite.tensor([-1, 0]), 3)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(torchlite.tensor([3]), 3)


@pytest.mark.parity
def test_embedding_parity():
    torch = pytest.importorskip("torch")
    parity(nn.Embedding(5, 3, padding_idx=2), torch.nn.Embedding(5, 3, padding_idx=2), IDX)
    parity(nn.Embedding(5, 3, scale_grad_by_freq=True),
           torch.nn.Embedding(5, 3, scale_grad_by_freq=True), IDX)


def test_indices_on_another_device_are_refused_up_front():
    e = nn.Embedding(5, 2)
    idx = torchlite.Tensor._make(np.array([0, 1]), torchlite.device("cuda"))
    with pytest.raises(RuntimeError, match=r"embedding.*same device"):
        e(idx)
