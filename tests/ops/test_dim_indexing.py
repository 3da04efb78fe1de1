"""Indexing along one dim: index_select, gather, take_along_dim, scatter, scatter_add,
index_add, and their errors."""

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, to_np

import torchlite

I = torchlite.tensor


def test_index_select(device):
    a = data((4, 3), 3)
    idx = I([2, 0, 2], device=device)
    for dim, i in ((0, idx), (1, I([1, 1], device=device))):
        check_forward(lambda x, d=dim, k=i: torchlite.index_select(x, d, k),
                      lambda x, d=dim, k=i: np.take(x, to_np(k), axis=d), a, device=device)
        check_grad(lambda x, d=dim, k=i: x.index_select(d, k), a)


def test_gather(device):
    a = data((3, 4), 4)
    idx0 = I([[0, 1, 2, 0], [2, 2, 1, 0]])
    idx1 = I([[3, 3], [0, 1], [2, 0]])
    d0, d1 = idx0.to(device), idx1.to(device)
    check_forward(lambda x: torchlite.gather(x, 0, d0),
                  lambda x: np.take_along_axis(x, idx0.numpy(), 0), a, device=device)
    check_forward(lambda x: x.gather(1, d1), lambda x: np.take_along_axis(x, idx1.numpy(), 1),
                  a, device=device)
    check_grad(lambda x: torchlite.gather(x, 0, idx0), a)
    check_grad(lambda x: x.gather(-1, idx1), a)
    check_grad(lambda x: torchlite.take_along_dim(x, idx1, 1), a)


def test_scatter_add_and_scatter():
    a = data((3, 4), 5)
    src = data((2, 4), 6)
    idx = I([[0, 1, 2, 0], [0, 0, 2, 1]])
    expected = a.copy()
    for i in range(2):
        for j in range(4):
            expected[idx[i, j].item(), j] += src[i, j]
    out = torchlite.scatter_add(I(a), 0, idx, I(src))
    np.testing.assert_allclose(to_np(out), expected)
    check_grad(lambda x, s: torchlite.scatter_add(x, 0, idx, s), a, src)
    uniq = I([[0, 1, 2, 0], [1, 2, 0, 2]])
    out = I(a).scatter(0, uniq, I(src))
    expected = a.copy()
    for i in range(2):
        for j in range(4):
            expected[uniq[i, j].item(), j] = src[i, j]
    np.testing.assert_allclose(to_np(out), expected)
    check_grad(lambda x, s: x.scatter(0, uniq, s), a, src)
    filled = I(a).scatter(1, I([[0], [1], [3]]), value=-1.0)
    assert filled[2, 3].item() == -1.0 and filled[0, 0].item() == -1.0


def test_index_add(device):
    a, src, src2 = data((4, 3), 13), data((4, 3), 14), data((4, 2), 15)
    idx = I([2, 0, 2, 3])
    expected = a.copy()
    for i, j in enumerate([2, 0, 2, 3]):
        expected[j] += 0.5 * src[i]  # repeated index 2 accumulates
    check_forward(lambda x, s: torchlite.index_add(x, 0, I([2, 0, 2, 3], device=device), s,
                                                   alpha=0.5),
                  lambda x, s: expected, a, src, device=device)
    out = I(a).index_add(1, I([1, 1]), I(src2))
    ref = a.copy()
    ref[:, 1] += src2.sum(1)
    np.testing.assert_allclose(to_np(out), ref)
    check_grad(lambda x, s: x.index_add(0, idx, s, alpha=2.0), a, src)
    check_grad(lambda x, s: torchlite.index_add(x.t(), 0, I([0, 2]), s.t()), a, src2)
    x = torchlite.zeros(3, 2)
    assert x.index_add_(0, I([0, 2, 0]), torchlite.ones(3, 2)) is x
    assert x.tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]
    i = torchlite.zeros(3, dtype=torchlite.int64).index_add(0, I([1, 1]), I([4, 5]), alpha=2)
    assert i.tolist() == [0, 18, 0] and i.dtype == torchlite.int64


def test_index_add_errors():
    x = torchlite.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"index_add_.*\[2, 4\].*\[3, 4\]"):
        x.index_add(0, I([0, 1]), torchlite.ones(3, 4))
    with pytest.raises(IndexError, match="vector"):
        x.index_add(0, I([[0]]), torchlite.ones(1, 4))
    with pytest.raises(RuntimeError, match="index_add.*out of bounds"):
        x.index_add(0, I([3]), torchlite.ones(1, 4))
    with pytest.raises(RuntimeError, match="index_add.*dtype"):
        x.index_add(0, I([0]), torchlite.ones(1, 4, dtype=torchlite.float64))
    with pytest.raises(RuntimeError, match="index.*int64"):
        x.index_add(0, torchlite.tensor([0.0]), torchlite.ones(1, 4))


def test_gather_scatter_index_errors():
    x = torchlite.ones(2, 3)
    with pytest.raises(RuntimeError, match="gather.*int64"):
        x.gather(0, torchlite.zeros(2, 3))
    with pytest.raises(RuntimeError, match="gather.*same number of dimensions"):
        x.gather(0, I([0, 1]))
    with pytest.raises(RuntimeError, match="gather.*out of bounds"):
        x.gather(0, I([[0, 5, 0]]))
    with pytest.raises(RuntimeError, match=r"scatter_add.*\[1, 4\].*\[2, 3\]"):
        x.scatter_add(0, I([[0, 0, 0, 0]]), torchlite.ones(3, 4))
    with pytest.raises(RuntimeError, match="scatter_add.*dtype"):
        x.scatter_add(0, I([[0, 0, 0]]), torchlite.ones(1, 3, dtype=torchlite.float64))
    with pytest.raises(IndexError, match="index_select.*out of range"):
        x.index_select(1, I([3]))
    with pytest.raises(TypeError, match="index_select"):
        x.index_select(1, [0])
    with pytest.raises(IndexError, match="gather.*Dimension out of range"):
        x.gather(2, I([[0]]))
