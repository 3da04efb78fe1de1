"""Embedding(sparse=True) / F.embedding(sparse=True): COO gradients that accumulate uncoalesced,
coalesce on demand, leave padding_idx out, and equal PyTorch's."""

import numpy as np
import pytest

import torchlite


def test_sparse_gradient_accumulates_uncoalesced():
    emb = torchlite.nn.Embedding(5, 3, sparse=True)
    emb(torchlite.tensor([1, 3, 1])).sum().backward()
    g = emb.weight.grad
    assert g.is_sparse and not g.is_coalesced() and g._nnz() == 3
    emb(torchlite.tensor([4])).sum().backward()
    assert emb.weight.grad._nnz() == 4
    c = emb.weight.grad.coalesce()
    assert c.indices().tolist() == [[1, 3, 4]]
    assert c.values().tolist() == [[2.0] * 3, [1.0] * 3, [1.0] * 3]


def test_padding_idx_and_scale_grad_by_freq():
    emb = torchlite.nn.Embedding(5, 2, sparse=True, padding_idx=0, scale_grad_by_freq=True)
    emb(torchlite.tensor([[0, 2, 2, 1]])).sum().backward()
    g = emb.weight.grad
    assert g._indices().tolist() == [[2, 2, 1]]
    assert g.to_dense().tolist() == [[0, 0], [1, 1], [1, 1], [0, 0], [0, 0]]


def test_sparse_plus_dense_gradient_becomes_dense():
    w = torchlite.nn.Parameter(torchlite.ones(4, 2))
    torchlite.nn.functional.embedding(torchlite.tensor([1]), w, sparse=True).sum().backward()
    (w * 2).sum().backward()
    assert w.grad.layout is torchlite.strided
    assert w.grad.tolist() == [[2, 2], [3, 3], [2, 2], [2, 2]]


@pytest.mark.parity
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((6, 3)).astype(np.float32)
    ids = np.array([[1, 5, 1], [0, 2, 5]])
    g = rng.standard_normal((2, 3, 3)).astype(np.float32)
    grads = []
    for m in (torchlite, torch):
        emb = m.nn.Embedding(6, 3, sparse=True, padding_idx=2)
        emb.weight.data = m.tensor(weight)
        (emb(m.tensor(ids)) * m.tensor(g)).sum().backward()
        grads.append((emb.weight.grad._indices().tolist(), emb.weight.grad._values().numpy()))
    assert grads[0][0] == grads[1][0]
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-6)


def test_gradcheck_and_autograd_grad_layout():
    rng = np.random.default_rng(2)
    w = torchlite.tensor(rng.standard_normal((5, 3)), dtype=torchlite.float64,
                         requires_grad=True)
    ids = torchlite.tensor([[0, 2, 2], [4, 1, 0]])
    F = torchlite.nn.functional
    assert torchlite.autograd.gradcheck(lambda w: F.embedding(ids, w, sparse=True), (w,))
    assert torchlite.autograd.gradcheck(lambda w: F.embedding_bag(ids, w, sparse=True), (w,))
    (g,) = torchlite.autograd.grad(F.embedding(ids, w, sparse=True).sum(), w)
    assert g.layout is torchlite.sparse_coo and g._nnz() == 6
