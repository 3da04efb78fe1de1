"""scatter_reduce and scatter(reduce=..., value=...): values, PyTorch's gradients, checks."""

import numpy as np
import pytest
from _core_checks import check_grad, leaf, to_np

import torchlite

_SR_X, _SR_IDX, _SR_SRC = [1.0, 2.0, 3.0, 4.0], [0, 0, 2, 2, 2], [5.0, 0.0, 2.0, 2.0, 7.0]


def _sr_values(reduce, include_self):
    x, idx, src = np.array(_SR_X), _SR_IDX, np.array(_SR_SRC)
    out = x.copy()
    for p in set(idx):
        vals = [s for s, i in zip(src, idx) if i == p] + ([x[p]] if include_self else [])
        out[p] = {"sum": sum, "prod": np.prod, "mean": np.mean, "amax": max, "amin": min}[
            reduce](vals)
    return out


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_values_and_gradcheck(reduce, include_self):
    x, idx, src = torchlite.tensor(_SR_X), torchlite.tensor(_SR_IDX), torchlite.tensor(_SR_SRC)
    out = torchlite.scatter_reduce(x, 0, idx, src, reduce, include_self=include_self)
    np.testing.assert_allclose(to_np(out), _sr_values(reduce, include_self), rtol=1e-6)
    assert torchlite.equal(x.scatter_reduce(0, idx, src, reduce, include_self=include_self), out)
    rng = np.random.default_rng(0)
    a, s = rng.uniform(0.5, 2, (3, 4)), rng.uniform(0.5, 2, (2, 4))
    if reduce in ("amax", "amin"):  # distinct values: away from the kinks
        a, s = a + np.arange(12).reshape(3, 4), s + 20 * np.arange(8).reshape(2, 4)
    i = torchlite.tensor([[0, 2, 2, 1], [0, 0, 2, 1]])
    check_grad(lambda t, u: torchlite.scatter_reduce(t, 0, i, u, reduce,
                                                      include_self=include_self), a, s)


def test_scatter_reduce_prod_with_zeros_and_ties():
    x = leaf([0.0, 2.0, 3.0])
    s = leaf([0.0, 4.0, 5.0, 3.0])
    i = torchlite.tensor([0, 1, 2, 2])
    torchlite.scatter_reduce(x, 0, i, s, "prod").sum().backward()
    # position 0: two zeros, no gradient; 1: 2 * 4; 2: 3 * 5 * 3
    assert x.grad.tolist() == [0.0, 4.0, 15.0] and s.grad.tolist() == [0.0, 2.0, 9.0, 15.0]
    x = leaf([1.0, 7.0])
    s = leaf([7.0, 7.0])
    torchlite.scatter_reduce(x, 0, torchlite.tensor([1, 1]), s, "amax").sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [1.0, 1 / 3])
    np.testing.assert_allclose(to_np(s.grad), [1 / 3, 1 / 3])


def test_scatter_reduce_integers_and_inplace():
    r = torchlite.tensor([1, 2, 3]).scatter_reduce(0, torchlite.tensor([0, 0]),
                                                   torchlite.tensor([4, 4]), "mean")
    assert r.tolist() == [3, 2, 3] and r.dtype == torchlite.int64
    t = torchlite.zeros(3)
    t.scatter_reduce_(0, torchlite.tensor([2, 2]), torchlite.tensor([1.0, 5.0]), "amax",
                      include_self=False)
    assert t.tolist() == [0.0, 0.0, 5.0]
    with pytest.raises(RuntimeError, match="reduce argument"):
        torchlite.scatter_reduce(t, 0, torchlite.tensor([0]), t, "max")


def test_scatter_reduce_keyword_and_value():
    ones = torchlite.ones(3)
    i = torchlite.tensor([0, 0])
    assert ones.scatter(0, i, 2.0, reduce="add").tolist() == [5.0, 1.0, 1.0]
    assert ones.scatter(0, i, value=2.0, reduce="multiply").tolist() == [4.0, 1.0, 1.0]
    assert ones.scatter(0, i, torchlite.tensor([2.0, 3.0]), reduce="multiply").tolist() \
        == [6.0, 1.0, 1.0]
    assert ones.scatter(0, i, value=7.0).tolist() == [7.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="add or multiply"):
        ones.scatter(0, i, 2.0, reduce="mean")


def test_scatter_index_larger_than_src_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="expected index"):
        torchlite.ones(2, 3).scatter(0, torchlite.zeros(1, 4, dtype=torchlite.int64),
                                     torchlite.ones(1, 3))
    with pytest.raises(RuntimeError, match="no larger"):
        torchlite.ones(2, 3).scatter(0, torchlite.zeros(1, 2, dtype=torchlite.int64),
                                     torchlite.ones(2))
    with pytest.raises(RuntimeError):
        torchlite.ones(2, 3).scatter(0, torchlite.zeros(2, dtype=torchlite.int64), 1.0)


@pytest.mark.parity
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_parity_with_pytorch(reduce, include_self):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = np.round(rng.uniform(-2, 2, (4, 5)) * 2) / 2  # zeros and ties on purpose
    s = np.round(rng.uniform(-2, 2, (3, 5)) * 2) / 2
    i = rng.integers(0, 4, (3, 5))
    w = rng.uniform(0.5, 1.5, (4, 5))
    got = []
    for lib in (torchlite, torch):
        x, u = lib.tensor(a, requires_grad=True), lib.tensor(s, requires_grad=True)
        out = lib.scatter_reduce(x, 0, lib.tensor(i), u, reduce, include_self=include_self)
        (out * lib.tensor(w)).sum().backward()
        got.append([np.asarray(t.detach().numpy()) for t in (out, x.grad, u.grad)])
    for mine, theirs in zip(*got):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
def test_scatter_reduce_gradgradcheck(reduce):
    rng = np.random.default_rng(2)
    a = torchlite.tensor(rng.uniform(0.5, 2, 4) + np.arange(4), requires_grad=True)
    s = torchlite.tensor(rng.uniform(0.5, 2, 3) + 10 * np.arange(3), requires_grad=True)
    i = torchlite.tensor([0, 0, 2])
    assert torchlite.autograd.gradgradcheck(
        lambda x, u: torchlite.scatter_reduce(x, 0, i, u, reduce) ** 2, [a, s])
