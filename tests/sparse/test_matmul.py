"""Sparse x dense products: torch.sparse.mm (pattern gradient), torch.mm / @ (dense gradient),
torch.sparse.addmm; gradcheck in float64 and parity with PyTorch."""

import numpy as np
import pytest
from _sparse_checks import PATTERNS, check_through_values

import torchlite

pytest.importorskip("scipy", reason="needs the sparse extra: pip install 'torchlite[sparse]'")


def _dense64(shape, seed=1):
    rng = np.random.default_rng(seed)
    return torchlite.tensor(rng.standard_normal(shape), dtype=torchlite.float64,
                            requires_grad=True)


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("op", ["sparse.mm", "mm", "matmul_op", "csr", "addmm", "dense_left"])
def test_gradcheck(op, pattern):
    b = _dense64((3, 2))
    fns = {
        "sparse.mm": lambda s, b: torchlite.sparse.mm(s, b),
        "mm": lambda s, b: torchlite.mm(s, b),
        "matmul_op": lambda s, b: s @ b,
        "csr": lambda s, b: torchlite.sparse.mm(s.to_sparse_csr(), b),
        "addmm": lambda s, b: torchlite.sparse.addmm(torchlite.ones(3, 2, dtype=torchlite.float64),
                                                     s, b, beta=0.5, alpha=2.0),
        "dense_left": lambda s, b: b.t() @ s,
    }
    check_through_values(fns[op], pattern, b)


def test_gradient_layouts():
    s = torchlite.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2), requires_grad=True)
    b = torchlite.ones(2, 3, requires_grad=True)
    torchlite.sparse.mm(s, b).sum().backward()
    assert s.grad.is_sparse and s.grad._indices().tolist() == [[0, 1], [1, 0]]
    s.grad = None
    torchlite.mm(s, b).sum().backward()
    assert s.grad.layout is torchlite.strided and s.grad.tolist() == [[3, 3], [3, 3]]
    assert b.grad.tolist() == [[2, 2, 2], [1, 1, 1]] * 1 or b.grad is not None


def test_vector_and_errors():
    s = torchlite.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2))
    assert (s @ torchlite.tensor([1.0, 10.0])).tolist() == [10.0, 2.0]
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        s @ torchlite.ones(3, 2)
    with pytest.raises(RuntimeError, match="sparse @ sparse"):
        s @ s


@pytest.mark.parity
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_parity_values_and_gradients(pattern):
    torch = pytest.importorskip("torch")
    idx, shape = PATTERNS[pattern]
    rng = np.random.default_rng(3)
    v = rng.standard_normal(len(idx[0])).astype(np.float32)
    d = rng.standard_normal((3, 4)).astype(np.float32)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    for name in ("sparse.mm", "mm"):
        sa = torchlite.sparse_coo_tensor(idx, v, shape, requires_grad=True)
        sb = torch.sparse_coo_tensor(idx, v, shape, requires_grad=True)
        da, db = torchlite.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
        fa = torchlite.sparse.mm if name == "sparse.mm" else torchlite.mm
        fb = torch.sparse.mm if name == "sparse.mm" else torch.mm
        ya, yb = fa(sa, da), fb(sb, db)
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-5, atol=1e-6)
        (ya * torchlite.tensor(g)).sum().backward()
        (yb * torch.tensor(g)).sum().backward()
        assert sa.grad.layout.name == str(sb.grad.layout).split(".")[1]
        np.testing.assert_allclose(sa.grad.to_dense().numpy(), sb.grad.to_dense().numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(da.grad.numpy(), db.grad.numpy(), rtol=1e-5, atol=1e-6)
