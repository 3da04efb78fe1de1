"""Comparisons and predicates: bool results, broadcasting, promotion, no gradients."""

import operator

import numpy as np
import pytest
from _core_checks import data, leaf, to_np

import torchlite

OPS = [
    ("eq", operator.eq, np.equal), ("ne", operator.ne, np.not_equal),
    ("lt", operator.lt, np.less), ("le", operator.le, np.less_equal),
    ("gt", operator.gt, np.greater), ("ge", operator.ge, np.greater_equal),
]
SHAPES = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((4,), (3, 4))]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name, op, ref", OPS, ids=[o[0] for o in OPS])
def test_compare_matches_numpy(name, op, ref, shapes, device):
    a = np.round(data(shapes[0], 0) * 2).astype(np.float32)  # rounded, so equal values occur
    b = np.round(data(shapes[1], 1) * 2).astype(np.float32)
    ta, tb = torchlite.tensor(a, device=device), torchlite.tensor(b, device=device)
    for out in (op(ta, tb), getattr(torchlite, name)(ta, tb), getattr(ta, name)(tb)):
        assert out.dtype == torchlite.bool and not out.requires_grad
        np.testing.assert_array_equal(to_np(out), ref(a, b))
    np.testing.assert_array_equal(to_np(op(ta, 1.0)), ref(a, np.float32(1.0)))
    np.testing.assert_array_equal(to_np(op(1, tb)), ref(1, b))


def test_compare_mixed_dtypes_and_grad_inputs():
    i = torchlite.tensor([1, 2, 3])
    f = leaf([1.0, 2.5, 3.0], dtype=torchlite.float32)
    np.testing.assert_array_equal(to_np(i == f), [True, False, True])
    np.testing.assert_array_equal(to_np(i < 2.5), [True, True, False])
    assert not (f > 0).requires_grad
    np.testing.assert_array_equal(to_np(torchlite.tensor([True, False]) == 1), [True, False])


def test_equality_with_non_tensors_falls_back_to_identity():
    t = torchlite.ones(2)
    assert (t == None) is False  # noqa: E711 - the point of the test
    assert (t != "a") is True
    assert t in [None, t]


def test_predicates(device):
    x = torchlite.tensor([1.0, np.nan, np.inf, -np.inf, 0.0], device=device)
    np.testing.assert_array_equal(to_np(torchlite.isnan(x)), [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(to_np(x.isinf()), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(to_np(torchlite.isfinite(x)), [1, 0, 0, 0, 1])
    np.testing.assert_array_equal(to_np(torchlite.isposinf(x)), [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(to_np(torchlite.isneginf(x)), [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(to_np(torchlite.signbit(torchlite.tensor([-1.0, 2.0]))),
                                  [True, False])
    i = torchlite.tensor([1, 2], device=device)
    assert not torchlite.isnan(i).any().item() and torchlite.isfinite(i).all().item()
    assert torchlite.isinf(i).dtype == torchlite.bool


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_all_any(dim, keepdim):
    a = np.array([[True, False, True], [True, True, True]])
    t = torchlite.tensor(a)
    np.testing.assert_array_equal(to_np(torchlite.all(t, dim, keepdim)),
                                  np.all(a, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(to_np(t.any(dim, keepdim)),
                                  np.any(a, axis=dim, keepdims=keepdim))
    assert torchlite.all(t).dtype == torchlite.bool
    assert torchlite.tensor([1.0, 2.0]).all().item() is True
    assert torchlite.tensor([0, 0]).any().item() is False


def test_allclose_isclose_equal():
    a = torchlite.tensor([1.0, 2.0, np.nan])
    b = torchlite.tensor([1.0 + 1e-7, 2.0, np.nan])
    assert not torchlite.allclose(a, b)
    assert torchlite.allclose(a, b, equal_nan=True)
    assert a.allclose(a * (1 + 1e-6), equal_nan=True)
    assert not torchlite.allclose(a, a + 1, equal_nan=True)
    np.testing.assert_array_equal(to_np(torchlite.isclose(a, b)), [True, True, False])
    assert torchlite.equal(torchlite.tensor([1, 2]), torchlite.tensor([1, 2]))
    assert not torchlite.equal(torchlite.tensor([1, 2]), torchlite.tensor([1, 3]))
    assert not torchlite.tensor([1, 2]).equal(torchlite.tensor([[1, 2]]))
    assert torchlite.allclose(torchlite.ones(2, 3), torchlite.ones(3))


def test_bad_inputs():
    with pytest.raises(RuntimeError, match=r"eq.*\(2, 3\).*\(4,\)"):
        _ = torchlite.ones(2, 3) == torchlite.ones(4)
    with pytest.raises(RuntimeError, match=r"lt.*\(2,\).*\(3,\)"):
        _ = torchlite.ones(2) < torchlite.ones(3)
    with pytest.raises(ValueError):
        torchlite.allclose(torchlite.ones(2), torchlite.ones(3))
    with pytest.raises(IndexError, match="all"):
        torchlite.ones(2).all(1)
    fake = torchlite.ones(2)
    fake._device = torchlite.device("cuda:0")  # a fake GPU tensor: only the device label matters
    with pytest.raises(RuntimeError, match=r"gt.*cpu.*cuda:0"):
        _ = torchlite.ones(2) > fake
