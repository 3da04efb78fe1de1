"""Sparse reductions, softmax, elementwise arithmetic, transpose and index_select: gradcheck in
float64 through the values (coalesced patterns and ones with duplicates) and PyTorch parity."""

import numpy as np
import pytest
from _sparse_checks import PATTERNS, check_through_values

import torchlite

OPS = {
    "sum": lambda s: torchlite.sparse.sum(s),
    "sum0": lambda s: torchlite.sparse.sum(s, 0),
    "sum1": lambda s: torchlite.sparse.sum(s, 1),
    "softmax1": lambda s: torchlite.sparse.softmax(s, 1),
    "softmax0": lambda s: torchlite.sparse.softmax(s, 0),
    "log_softmax1": lambda s: torchlite.sparse.log_softmax(s, 1),
    "add": lambda s: s + s * 3,
    "sub": lambda s: s - s.t(),
    "mul_sparse": lambda s: s * (s * 2),
    "mul_scalar": lambda s: 2.5 * s,
    "div_scalar": lambda s: s / 4,
    "neg": lambda s: -s,
    "dense_plus_sparse": lambda s: torchlite.ones(3, 3, dtype=torchlite.float64) + s,
    "mul_dense": lambda s: s * torchlite.arange(9, dtype=torchlite.float64).reshape(3, 3),
    "t": lambda s: s.t(),
    "transpose": lambda s: s.transpose(0, 1),
    "index_select0": lambda s: s.index_select(0, torchlite.tensor([2, 0, 2])),
    "index_select1": lambda s: s.index_select(1, torchlite.tensor([1, 2])),
    "coalesce_values": lambda s: s.coalesce().values(),
    "csr_round_trip": lambda s: s.to_sparse_csr().to_sparse(),
}


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("op", sorted(OPS))
def test_gradcheck(op, pattern):
    check_through_values(OPS[op], pattern)


def test_dense_to_sparse_gradient_is_dense():
    x = torchlite.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torchlite.float64, requires_grad=True)
    assert torchlite.autograd.gradcheck(lambda x: (x.to_sparse() * 2).to_dense(), (x,))
    z = torchlite.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    (z.to_sparse() * 2).to_dense().sum().backward()
    # to_dense masks the gradient to the entries held (PyTorch's masked_grad=True)
    assert z.grad.layout is torchlite.strided and z.grad.tolist() == [[0, 2], [2, 0]]


def test_hybrid_sum_and_softmax():
    s = torchlite.sparse_coo_tensor([[0, 2, 0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], (3, 2))
    assert torchlite.sparse.sum(s, 1).to_dense().tolist() == [14.0, 0.0, 7.0]
    assert torchlite.sparse.sum(s, 0).tolist() == [9.0, 12.0]
    v = torchlite.tensor(np.arange(6.0).reshape(3, 2), dtype=torchlite.float64,
                         requires_grad=True)
    ind = torchlite.tensor([[0, 2, 0]])
    for fn in (lambda s: torchlite.sparse.sum(s, 1), lambda s: torchlite.sparse.sum(s, 0),
               lambda s: torchlite.sparse.softmax(s, 1), lambda s: torchlite.sparse.softmax(s, 0)):
        assert torchlite.autograd.gradcheck(
            lambda v, fn=fn: _dense(fn(torchlite.sparse_coo_tensor(ind, v, (3, 2)))), (v,))


def _dense(t):
    return t.to_dense() if t.is_sparse else t


def test_sum_results_and_layouts():
    s = torchlite.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    assert torchlite.sparse.sum(s).item() == 12.0
    r = torchlite.sparse.sum(s, 1)
    assert r.is_sparse and r.to_dense().tolist() == [3.0, 9.0]
    assert torchlite.sparse.sum(s, (0, 1)).item() == 12.0


@pytest.mark.parity
@pytest.mark.parametrize("op", ["sum", "sum1", "softmax1", "log_softmax1", "add", "mul_sparse",
                                "mul_scalar", "t", "dense_plus_sparse"])
def test_parity(op):
    torch = pytest.importorskip("torch")
    idx, shape = PATTERNS["duplicates"]
    v = np.random.default_rng(5).standard_normal(len(idx[0]))
    fns = {
        "sum": lambda m, s: m.sparse.sum(s),
        "sum1": lambda m, s: m.sparse.sum(s, 1),
        "softmax1": lambda m, s: m.sparse.softmax(s.coalesce(), 1),
        "log_softmax1": lambda m, s: m.sparse.log_softmax(s.coalesce(), 1),
        "add": lambda m, s: s + s * 3,
        "mul_sparse": lambda m, s: s.coalesce() * (s.coalesce() * 2),
        "mul_scalar": lambda m, s: 2.5 * s,
        "t": lambda m, s: s.t(),
        "dense_plus_sparse": lambda m, s: m.ones(3, 3, dtype=m.float64) + s,
    }
    outs, grads = [], []
    for m in (torchlite, torch):
        s = m.sparse_coo_tensor(m.tensor(idx), m.tensor(v, dtype=m.float64), shape,
                                requires_grad=True)
        out = fns[op](m, s)
        dense = out.to_dense() if out.is_sparse else out
        (dense * m.arange(dense.numel(), dtype=m.float64).reshape(dense.shape)).sum().backward()
        outs.append(np.asarray(dense.detach().tolist()))
        g = s.grad
        grads.append(np.asarray((g.to_dense() if g.is_sparse else g).tolist()))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parity
def test_index_select_parity():
    torch = pytest.importorskip("torch")
    idx, shape = PATTERNS["duplicates"]
    v = [1.0, 2.0, 3.0, 4.0, 5.0]
    a = torchlite.sparse_coo_tensor(idx, v, shape).index_select(1, torchlite.tensor([2, 0, 2]))
    b = torch.sparse_coo_tensor(idx, v, shape).index_select(1, torch.tensor([2, 0, 2]))
    assert a.to_dense().tolist() == b.to_dense().tolist()
