"""EmbeddingBag / F.embedding_bag against PyTorch (outputs, weight gradients dense and sparse,
per_sample_weights gradients) over modes, input forms and padding_idx; argument errors."""

import numpy as np
import pytest

import torchlite
import torchlite.nn.functional as F

CASES = [(mode, form, pad, sparse)
         for mode in ("sum", "mean", "max") for form in ("2d", "offsets", "last_offset")
         for pad in (None, 2) for sparse in (False, True) if not (mode == "max" and sparse)]


def _inputs(form):
    if form == "2d":
        return np.array([[1, 2, 2, 4], [2, 3, 9, 0]]), None
    ids = np.array([1, 2, 2, 4, 2, 3, 9, 0, 5])
    return ids, (np.array([0, 3, 3, 7]) if form == "offsets" else np.array([0, 3, 3, 7, 9]))


def _run(m, weight, mode, form, pad, sparse, psw, g):
    ids, offsets = _inputs(form)
    bag = m.nn.EmbeddingBag(10, 4, mode=mode, sparse=sparse, padding_idx=pad,
                            include_last_offset=form == "last_offset")
    bag.weight.data = m.tensor(weight)
    w = m.tensor(psw, requires_grad=True) if mode == "sum" else None
    out = bag(m.tensor(ids), None if offsets is None else m.tensor(offsets),
              per_sample_weights=w)
    (out * m.tensor(g)).sum().backward()
    grad = bag.weight.grad
    nnz = grad._nnz() if sparse else None
    dense = grad.to_dense() if sparse else grad
    return (out.detach().numpy(), dense.detach().numpy(), nnz,
            None if w is None else w.grad.numpy())


@pytest.mark.parity
@pytest.mark.parametrize("mode, form, pad, sparse", CASES)
def test_matches_pytorch(mode, form, pad, sparse):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((10, 4)).astype(np.float32)
    ids, _ = _inputs(form)
    psw = rng.random(ids.shape).astype(np.float32)
    g = rng.standard_normal((2 if form == "2d" else 4, 4)).astype(np.float32)
    a = _run(torchlite, weight, mode, form, pad, sparse, psw, g)
    b = _run(torch, weight, mode, form, pad, sparse, psw, g)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)
    assert a[2] == b[2]
    if a[3] is not None:
        np.testing.assert_allclose(a[3], b[3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradcheck(mode):
    rng = np.random.default_rng(1)
    w = torchlite.tensor(rng.standard_normal((6, 3)), dtype=torchlite.float64, requires_grad=True)
    ids = torchlite.tensor([0, 2, 2, 5, 1, 3])
    off = torchlite.tensor([0, 2, 2])
    assert torchlite.autograd.gradcheck(lambda w: F.embedding_bag(ids, w, off, mode=mode), (w,))
    if mode == "sum":
        p = torchlite.tensor(rng.random(6), dtype=torchlite.float64, requires_grad=True)
        assert torchlite.autograd.gradcheck(
            lambda w, p: F.embedding_bag(ids, w, off, mode="sum", per_sample_weights=p), (w, p))


def test_empty_bag_gives_zeros_and_repr():
    bag = torchlite.nn.EmbeddingBag(5, 2, mode="max")
    out = bag(torchlite.tensor([1, 2]), torchlite.tensor([0, 0]))
    assert out[0].tolist() == [0.0, 0.0]
    assert repr(torchlite.nn.EmbeddingBag(5, 2, sparse=True)) == \
        "EmbeddingBag(5, 2, mode='mean', sparse=True)"


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(mode="median"), ValueError, "mode has to be one of"),
    (dict(mode="max", sparse=True), ValueError, "max mode does not support sparse weights"),
    (dict(mode="mean", per_sample_weights=torchlite.ones(3)), NotImplementedError,
     "only supported for mode='sum'"),
])
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        F.embedding_bag(torchlite.tensor([0, 1, 2]), torchlite.ones(4, 2),
                        torchlite.tensor([0]), **kwargs)


def test_offsets_errors():
    w = torchlite.ones(4, 2)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(torchlite.tensor([[0, 1]]), w, torchlite.tensor([0]))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(torchlite.tensor([0, 1]), w, torchlite.tensor([1]))
    with pytest.raises(IndexError, match="out of range"):
        F.embedding_bag(torchlite.tensor([0, 7]), w, torchlite.tensor([0]))
