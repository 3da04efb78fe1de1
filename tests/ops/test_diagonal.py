"""diagonal (a view), diag, tril and triu (torchlite/ops/diagonal.py): forward vs NumPy, float64
gradchecks, writes through the diagonal view, errors, parity."""

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, leaf, noncontig_leaf, to_np

import torchlite

SINGLE = {
    "diagonal": (lambda x: torchlite.diagonal(x), lambda x: np.diagonal(x, 0, 0, 1)),
    "diagonal_offset": (lambda x: x.diagonal(1, 1, 2), lambda x: np.diagonal(x, 1, 1, 2)),
    "diagonal_neg": (lambda x: x.diagonal(-1, -1, 0), lambda x: np.diagonal(x, -1, -1, 0)),
    "diagonal_far": (lambda x: x.diagonal(7), lambda x: np.diagonal(x, 7)),
    "tril": (lambda x: torchlite.tril(x), lambda x: np.tril(x)),
    "tril_k": (lambda x: x.tril(-1), lambda x: np.tril(x, -1)),
    "triu": (lambda x: torchlite.triu(x), lambda x: np.triu(x)),
    "triu_k": (lambda x: x.triu(diagonal=2), lambda x: np.triu(x, 2)),
    "triu_neg": (lambda x: x.triu(-1), lambda x: np.triu(x, -1)),
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_forward_matches_numpy(name, device):
    fn, ref = SINGLE[name]
    check_forward(fn, ref, data((2, 3, 4)), device=device)


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_gradcheck(name):
    fn, _ = SINGLE[name]
    check_grad(lambda x: fn(x) * 1.5, data((2, 3, 4), 1))
    check_grad(lambda x: fn(x) * 1.5, noncontig_leaf(data((2, 3, 4), 2), "step"))


@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3])
def test_diag_vector_to_matrix_and_back(k, device):
    v = data((3,), 3)
    check_forward(lambda t: torchlite.diag(t, k), lambda t: np.diag(t, k), v, device=device)
    m = data((3, 4), 4)
    check_forward(lambda t: t.diag(k), lambda t: np.diag(t, k), m, device=device)
    check_grad(lambda t: torchlite.diag(t, k) * 2.0, v)
    check_grad(lambda t: t.diag(k) * 2.0, m)


def test_diagonal_is_a_view_and_diag_a_copy():
    m = torchlite.zeros(3, 3)
    m.diagonal().fill_(1.0)  # the identity, the idiomatic way
    np.testing.assert_array_equal(to_np(m), np.eye(3))
    m.diagonal(1).add_(5.0)
    np.testing.assert_array_equal(to_np(m), np.eye(3) + 5 * np.eye(3, k=1))
    d = m.diag()
    d.zero_()
    assert m[0, 0].item() == 1.0
    x = torchlite.arange(24.0).reshape(2, 3, 4)
    v = x.diagonal(0, 1, 2)
    v[1, 2] = -1.0
    assert x[1, 2, 2].item() == -1.0
    assert v._version == x._version


def test_inplace_through_diagonal_view_reaches_the_gradient():
    a = leaf(data((3, 3), 5))
    b = a * 1.0
    b.diagonal().mul_(3.0)
    (b * torchlite.tensor(data((3, 3), 6))).sum().backward()
    expected = data((3, 3), 6) * np.where(np.eye(3) == 1, 3.0, 1.0)
    np.testing.assert_allclose(to_np(a.grad), expected)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        leaf(data((2, 2))).diagonal().zero_()


def test_causal_mask_and_inplace_triangles():
    mask = torchlite.triu(torchlite.ones(4, 4), 1).bool()
    assert mask.tolist() == (np.triu(np.ones((4, 4)), 1) == 1).tolist()
    scores = torchlite.zeros(4, 4).masked_fill(mask, float("-inf")).softmax(-1)
    np.testing.assert_allclose(to_np(scores)[3], [0.25] * 4)
    x = torchlite.ones(3, 3)
    assert x.tril_(-1) is x and x.sum().item() == 3.0
    assert torchlite.ones(2, 3).triu_().sum().item() == 5.0
    i = torchlite.tensor([[1, 2], [3, 4]])
    assert i.tril().tolist() == [[1, 0], [3, 4]] and i.tril().dtype == torchlite.int64
    b = torchlite.ones(2, 2, dtype=torchlite.bool)
    assert b.triu().dtype == torchlite.bool and b.triu().tolist() == [[True, True],
                                                                       [False, True]]


def test_errors():
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        torchlite.tril(torchlite.ones(3))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        torchlite.ones(3).diagonal()
    with pytest.raises(RuntimeError, match="cannot be identical"):
        torchlite.ones(2, 2).diagonal(0, 1, -1)
    with pytest.raises(IndexError, match="diagonal.*out of range"):
        torchlite.ones(2, 2).diagonal(0, 0, 2)
    with pytest.raises(RuntimeError, match="1D or 2D"):
        torchlite.diag(torchlite.ones(2, 2, 2))
    with pytest.raises(TypeError, match="diagonal"):
        torchlite.triu(torchlite.ones(2, 2), 1.5)


@pytest.mark.parity
def test_parity():
    torch = pytest.importorskip("torch")
    a = data((3, 4), 8).astype(np.float32)
    v = data((3,), 9).astype(np.float32)
    cases = [(lambda m, t: t.tril(m, -1), a), (lambda m, t: t.triu(m, 2), a),
             (lambda m, t: t.diag(m, 1), a), (lambda m, t: t.diag(m, -2), v),
             (lambda m, t: t.diagonal(m, -1) * 2, a),
             (lambda m, t: m.diagonal(1, 1, 0) * 2, data((2, 3, 4), 10).astype(np.float32))]
    for fn, arr in cases:
        x = torchlite.tensor(arr, requires_grad=True)
        y = torch.tensor(arr, requires_grad=True)
        out, ref = fn(x, torchlite), fn(y, torch)
        np.testing.assert_array_equal(to_np(out), ref.detach().numpy())
        w = data(tuple(ref.shape), 11).astype(np.float32)
        (out * torchlite.tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(to_np(x.grad), y.grad.numpy())
