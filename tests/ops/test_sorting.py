"""Sorting and selection: sort (stable), argsort, topk, kthvalue, median, unique."""

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_numpy(dim, descending, device):
    a = np.round(data((4, 5), 0) * 2).astype(np.float32)  # rounded: many ties
    x = torchlite.tensor(a, device=device)
    values, indices = torchlite.sort(x, dim, descending)
    if descending:  # stable descending: sort negated keys stably
        ref_idx = np.argsort(-a, axis=dim, kind="stable")
    else:
        ref_idx = np.argsort(a, axis=dim, kind="stable")
    np.testing.assert_array_equal(to_np(indices), ref_idx)
    np.testing.assert_array_equal(to_np(values), np.take_along_axis(a, ref_idx, dim))
    assert indices.dtype == torchlite.int64 and values.dtype == torchlite.float32
    np.testing.assert_array_equal(to_np(x.argsort(dim, descending)), ref_idx)
    r = x.sort(dim=dim, descending=descending)
    assert r.values is r[0] and r.indices is r[1]


@pytest.mark.parametrize("dim", [0, 1])
def test_sort_gradcheck(dim):
    check_grad(lambda x: torchlite.sort(x, dim).values, data((3, 4), 1))
    check_grad(lambda x: x.sort(dim, descending=True)[0] * 2.0, data((3, 4), 2))


def test_sort_integers_and_scalars():
    x = torchlite.tensor([3, 1, 2])
    v, i = x.sort()
    assert v.tolist() == [1, 2, 3] and i.tolist() == [1, 2, 0] and v.dtype == torchlite.int64
    v, i = torchlite.tensor([True, False, True]).sort(descending=True)
    assert v.tolist() == [True, True, False] and i.tolist() == [0, 2, 1]
    v, i = torchlite.tensor(2.0).sort()
    assert v.item() == 2.0 and i.item() == 0


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, -1])
def test_topk(largest, dim):
    a = data((4, 6), 3)
    x = torchlite.tensor(a)
    v, i = torchlite.topk(x, 3, dim, largest)
    order = np.argsort(-a if largest else a, axis=dim, kind="stable")
    ref_i = np.take(order, np.arange(3), axis=dim)
    np.testing.assert_array_equal(to_np(i), ref_i)
    np.testing.assert_allclose(to_np(v), np.take_along_axis(a, ref_i, dim), rtol=1e-6)
    check_grad(lambda t: t.topk(2, dim, largest).values, a)
    with pytest.raises(RuntimeError, match="topk"):
        x.topk(10, 1)


def test_kthvalue_and_median():
    a = np.array([[5.0, 1.0, 4.0, 2.0], [0.0, 3.0, 3.0, -1.0]])
    x = torchlite.tensor(a)
    v, i = torchlite.kthvalue(x, 2, 1)
    np.testing.assert_array_equal(to_np(v), [2.0, 0.0])
    np.testing.assert_array_equal(to_np(i), [3, 0])
    assert x.kthvalue(1, 0, keepdim=True).values.shape == (1, 4)
    assert torchlite.median(x).item() == 2.0  # lower median of 8 values
    v, i = x.median(1)
    np.testing.assert_array_equal(to_np(v), [2.0, 0.0])
    np.testing.assert_array_equal(to_np(i), [3, 0])
    check_grad(lambda t: t.kthvalue(3, 1).values, data((3, 4), 4))
    check_grad(lambda t: t.median(0).values + t.median(), data((3, 4), 5))


def test_unique():
    x = torchlite.tensor([[3, 1], [3, 2]])
    u = torchlite.unique(x)
    assert u.tolist() == [1, 2, 3] and u.dtype == torchlite.int64
    u, inv, counts = x.unique(return_inverse=True, return_counts=True)
    assert inv.tolist() == [[2, 0], [2, 1]] and counts.tolist() == [1, 1, 2]
    with pytest.raises(NotImplementedError, match="unique"):
        x.unique(dim=0)


def test_bad_dims():
    with pytest.raises(IndexError, match="argsort"):
        torchlite.ones(2, 2).sort(2)
    with pytest.raises(IndexError, match="topk"):
        torchlite.ones(2).topk(1, 1)


@pytest.mark.parity
@pytest.mark.parametrize("descending", [False, True])
def test_parity_sort_stability_and_grads(descending):
    # (topk is compared without ties: PyTorch leaves its choice among tied values unspecified)
    torch = pytest.importorskip("torch")
    vals = [[2.0, 1.0, 2.0, 0.0, 1.0, 2.0], [1.0, 1.0, 1.0, 3.0, 3.0, -1.0]]
    res = []
    for m in (torchlite, torch):
        x = m.tensor(vals, requires_grad=True)
        v, i = m.sort(x, dim=1, descending=descending, stable=True)
        t = (x * m.tensor([1.0, 1.1, 1.2, 1.3, 1.4, 1.5])).topk(2, 1, largest=not descending)[0]
        (v * m.arange(6.0)).sum().backward()
        (t * 10.0).sum().backward()
        res.append((v.detach().numpy(), i.numpy(), x.grad.numpy()))
    for mine, theirs in zip(*res):
        np.testing.assert_array_equal(mine, theirs)
