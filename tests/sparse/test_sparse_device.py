"""Sparse tensors on each device (the `device` fixture: the CPU, and a GPU where present):
construction, .to(device), products with gradients, coalesce, CSR, sparse embedding training
with SparseAdam, all against the CPU's NumPy results."""

import numpy as np
import pytest

import torchlite

pytest.importorskip("scipy", reason="needs the sparse extra: pip install 'torchlite[sparse]'")

IDX = [[0, 2, 1, 2, 0], [1, 0, 2, 0, 1]]
VALS = [1.0, 2.0, 3.0, 4.0, 5.0]


def test_to_device_and_back(device):
    s = torchlite.sparse_coo_tensor(IDX, VALS, (3, 3))
    d = s.to(device)
    assert d.device.type == device and d.is_sparse
    assert d.cpu().to_dense().tolist() == s.to_dense().tolist()
    assert "device='cuda" in repr(d) if device == "cuda" else True


def test_products_coalesce_and_csr(device):
    s = torchlite.sparse_coo_tensor(IDX, VALS, (3, 3), device=device, requires_grad=True)
    rng = np.random.default_rng(0)
    b_np = rng.standard_normal((3, 4)).astype(np.float32)
    b = torchlite.tensor(b_np, device=device, requires_grad=True)
    out = torchlite.sparse.mm(s, b)
    dense = s.detach().cpu().to_dense().numpy()
    np.testing.assert_allclose(out.detach().cpu().numpy(), dense @ b_np, rtol=1e-5, atol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(b.grad.cpu().numpy(), dense.T @ np.ones((3, 4), np.float32),
                               rtol=1e-5)
    assert s.grad.is_sparse and s.grad.device.type == device
    c = s.detach().coalesce()
    assert c.cpu().indices().tolist() == [[0, 1, 2], [1, 2, 0]]
    assert c.cpu().values().tolist() == [6.0, 3.0, 6.0]
    csr = s.detach().to_sparse_csr()
    assert csr.cpu().crow_indices().tolist() == [0, 1, 2, 3]
    assert (csr @ b).detach().cpu().numpy().shape == (3, 4)


def test_sparse_embedding_trains(device):
    emb = torchlite.nn.EmbeddingBag(20, 4, mode="sum", sparse=True).to(device)
    head = torchlite.nn.Linear(4, 2).to(device)
    opt = torchlite.optim.SparseAdam(list(emb.parameters()), lr=0.05)
    dense_opt = torchlite.optim.Adam(head.parameters(), lr=0.05)
    x = torchlite.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    y = torchlite.tensor([0, 1], device=device)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        dense_opt.zero_grad()
        loss = torchlite.nn.functional.cross_entropy(head(emb(x)), y)
        loss.backward()
        assert emb.weight.grad.is_sparse
        opt.step()
        dense_opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
