"""clip_grad_norm_ with sparse gradients: the norm counts each index once (coalesced values) and
the gradient is scaled in place, staying sparse."""

import numpy as np
import pytest

import torchlite
from torchlite.nn.utils import clip_grad_norm_


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_sparse_and_dense_gradients_clip_together(norm_type):
    emb = torchlite.nn.Embedding(6, 2, sparse=True)
    lin = torchlite.nn.Linear(2, 1)
    (lin(emb(torchlite.tensor([1, 4, 1]))) * 3).sum().backward()
    dense_emb = emb.weight.grad.to_dense().numpy().copy()
    dense_lin = [p.grad.numpy().copy() for p in lin.parameters()]
    flat = np.concatenate([dense_emb.ravel()] + [g.ravel() for g in dense_lin])
    expected = np.linalg.norm(flat, ord=norm_type)
    total = clip_grad_norm_([emb.weight, *lin.parameters()], 0.5, norm_type=norm_type)
    assert total.item() == pytest.approx(expected, rel=1e-5)
    coef = min(1.0, 0.5 / (expected + 1e-6))
    assert emb.weight.grad.is_sparse
    np.testing.assert_allclose(emb.weight.grad.to_dense().numpy(), dense_emb * coef, rtol=1e-5)


def test_clip_value_clamps_sparse_entries():
    emb = torchlite.nn.Embedding(4, 2, sparse=True)
    (emb(torchlite.tensor([1, 1, 3])) * 5).sum().backward()
    torchlite.nn.utils.clip_grad_value_(emb.parameters(), 2.0)
    g = emb.weight.grad
    assert g.is_sparse and g._values().tolist() == [[2.0, 2.0]] * 3
