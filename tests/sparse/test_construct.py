"""Building sparse tensors: sparse_coo_tensor, sparse_csr_tensor, spdiags, to_sparse; their
components, layouts, repr, checked arguments, device moves and coalescing."""

import numpy as np
import pytest

import torchlite
from torchlite.sparse import SparseTensor


def _coo():
    return torchlite.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))


def test_coo_components_and_layout():
    s = _coo()
    assert isinstance(s, SparseTensor) and s.is_sparse and not s.is_sparse_csr
    assert s.layout is torchlite.sparse_coo and torchlite.ones(1).layout is torchlite.strided
    assert s.shape == (2, 3) and s.dtype is torchlite.float32 and s._nnz() == 3
    assert s.sparse_dim() == 2 and s.dense_dim() == 0 and s.numel() == 6
    assert s.to_dense().tolist() == [[0, 0, 3], [4, 0, 5]]
    assert s._indices().tolist() == [[0, 1, 1], [2, 0, 2]]
    assert s._values().tolist() == [3, 4, 5]


def test_repr_like_pytorch():
    assert repr(_coo()) == (
        "tensor(indices=tensor([[0, 1, 1],\n"
        "                       [2, 0, 2]]),\n"
        "       values=tensor([3., 4., 5.]),\n"
        "       size=(2, 3), nnz=3, layout=torch.sparse_coo)")
    r = repr(torchlite.sparse_coo_tensor([[0]], [1.0], (2,), dtype=torchlite.float64,
                                         requires_grad=True))
    assert "dtype=torch.float64" in r and r.endswith("requires_grad=True)")


def test_coalesce_sums_duplicates_and_sorts():
    s = torchlite.sparse_coo_tensor([[1, 0, 1], [0, 2, 0]], [1.0, 2.0, 3.0], (2, 3))
    assert not s.is_coalesced()
    with pytest.raises(RuntimeError, match="coalesce"):
        s.indices()
    c = s.coalesce()
    assert c.is_coalesced() and c.indices().tolist() == [[0, 1], [2, 0]]
    assert c.values().tolist() == [2.0, 4.0]
    assert c.coalesce() is c


def test_hybrid_tensor():
    s = torchlite.sparse_coo_tensor([[0, 2]], [[1.0, 2.0], [3.0, 4.0]], (3, 2))
    assert s.sparse_dim() == 1 and s.dense_dim() == 1
    assert s.to_dense().tolist() == [[1, 2], [0, 0], [3, 4]]
    d = torchlite.tensor([[0.0, 0.0], [1.0, 0.0]])
    h = d.to_sparse(1)
    assert h.sparse_dim() == 1 and h._indices().tolist() == [[1]]
    assert h._values().tolist() == [[1.0, 0.0]]


def test_size_inferred():
    s = torchlite.sparse_coo_tensor([[0, 3], [1, 1]], [1.0, 2.0])
    assert s.shape == (4, 2)
    assert torchlite.sparse_coo_tensor([[0, 1]], [1, 2]).dtype is torchlite.int64


@pytest.mark.parametrize("args, match", [
    (([[0, 1]], [1.0], (2,)), "same nnz"),
    (([0, 1], [1.0, 2.0], (2,)), "sparse_dim x nnz"),
    (([[0, 1]], [[1.0], [2.0]], (2,)), "len\\(size\\)"),
    (([[0, 1]], [[1.0, 2.0], [3.0, 4.0]], (2, 3)), "values has incorrect size"),
    (([[5]], [1.0], (2,)), "size is inconsistent with indices"),
    (([[-1]], [1.0], (2,)), "negative index"),
    (([[0.5]], [1.0], (2,)), "int64"),
])
def test_coo_bad_arguments(args, match):
    with pytest.raises(RuntimeError, match=match):
        torchlite.sparse_coo_tensor(*args)


def test_csr_tensor_and_conversions():
    c = torchlite.sparse_csr_tensor([0, 1, 3], [2, 0, 2], [3.0, 4.0, 5.0], (2, 3))
    assert c.is_sparse_csr and c.layout is torchlite.sparse_csr
    assert c.crow_indices().tolist() == [0, 1, 3] and c.col_indices().tolist() == [2, 0, 2]
    assert c.to_dense().tolist() == [[0, 0, 3], [4, 0, 5]]
    assert c.to_sparse().to_dense().tolist() == c.to_dense().tolist()
    assert _coo().to_sparse_csr().crow_indices().tolist() == [0, 1, 3]
    d = torchlite.tensor([[0.0, 1.0], [2.0, 0.0]])
    assert d.to_sparse(layout=torchlite.sparse_csr).col_indices().tolist() == [1, 0]
    assert "crow_indices=tensor([0, 1, 3])" in repr(c)


@pytest.mark.parametrize("crow, col, match", [
    ([0, 2, 1], [0, 1], "crow_indices"),
    ([1, 1, 2], [0, 1], "crow_indices\\[..., 0\\] == 0"),
    ([0, 2, 2], [1, 5], "col_indices < ncols"),
    ([0, 2, 2], [1, 0], "sorted and distinct"),
    ([0, 2, 2], [1, 1], "sorted and distinct"),
])
def test_csr_bad_arguments(crow, col, match):
    with pytest.raises(RuntimeError, match=match):
        torchlite.sparse_csr_tensor(crow, col, [1.0, 2.0], (2, 2), check_invariants=True)


def test_spdiags():
    s = torchlite.sparse.spdiags(torchlite.tensor([[1.0, 2, 3], [4, 5, 6]]),
                                 torchlite.tensor([0, -1]), (3, 3))
    assert s.to_dense().tolist() == [[1, 0, 0], [4, 2, 0], [0, 5, 3]]


def test_to_dtype_device_and_clone():
    s = _coo()
    d = s.to(torchlite.float64)
    assert d.dtype is torchlite.float64 and d.is_sparse and d.to_dense().tolist() == \
        s.to_dense().tolist()
    assert s.to("cpu") is s
    c = s.clone()
    c._values()._data[0] = 9
    assert s._values().tolist() == [3, 4, 5]


def test_dense_only_operations_fail_clearly():
    s = _coo()
    with pytest.raises(NotImplementedError, match="SparseCPU"):
        s.exp()
    with pytest.raises(TypeError, match="to_dense"):
        s.numpy()
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\)"):
        s + torchlite.ones(2, 3)
    with pytest.raises(NotImplementedError, match="index"):
        s[0]


def test_import_torchlite_leaves_scipy_alone():
    import subprocess
    import sys

    code = "import sys, torchlite; print('scipy' in sys.modules, 'torchlite.sparse.tensor' in " \
           "sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parity
def test_to_sparse_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], dtype=np.float32)
    a = torchlite.tensor(x).to_sparse()
    b = torch.tensor(x).to_sparse()
    assert a._indices().tolist() == b._indices().tolist()
    assert a._values().tolist() == b._values().tolist()
    c1 = torchlite.tensor(x).to_sparse_csr()
    c2 = torch.tensor(x).to_sparse_csr()
    assert c1.crow_indices().tolist() == c2.crow_indices().tolist()
    assert c1.col_indices().tolist() == c2.col_indices().tolist()


def test_products_without_scipy_name_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "scipy.sparse", None)  # import scipy.sparse now fails
    monkeypatch.setitem(sys.modules, "scipy", None)
    s = _coo()
    with pytest.raises(ImportError, match=r"torchlite\[sparse\]"):
        s @ torchlite.ones(3, 2)
    assert s.coalesce().to_dense().tolist() == [[0, 0, 3], [4, 0, 5]]  # NumPy-only ops still run
