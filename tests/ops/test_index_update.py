"""index_fill, index_copy, masked_scatter and put: values and gradients as PyTorch's."""

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite

X = np.arange(12.0).reshape(3, 4)


def test_values():
    t = torchlite.tensor(X)
    assert torchlite.index_fill(t, 1, torchlite.tensor([0, 2]), -1.0)[:, 0].tolist() == [-1] * 3
    c = t.index_copy(0, torchlite.tensor([2, 0]), torchlite.tensor(np.full((2, 4), 7.0)))
    assert to_np(c)[:, 0].tolist() == [7.0, 4.0, 7.0]
    m = torchlite.tensor(np.array([[True, False, True, False]] * 3))
    s = t.masked_scatter(m, torchlite.tensor(np.arange(100.0, 112.0)))
    assert to_np(s)[:, 0].tolist() == [100.0, 102.0, 104.0] and to_np(s)[0, 1] == 1.0
    src = torchlite.tensor([9.0, 8.0, 7.0], dtype=torchlite.float64)
    assert to_np(t.put(torchlite.tensor([0, 5, 1]), src)).ravel()[[0, 1, 5]].tolist() == \
        [9.0, 7.0, 8.0]
    p = t.put(torchlite.tensor([0, 5, 0]), src, accumulate=True)
    assert to_np(p).ravel()[[0, 5]].tolist() == [16.0, 13.0]
    u = t.clone()
    u.index_fill_(0, torchlite.tensor([1]), 0.0)
    assert to_np(u)[1].tolist() == [0.0] * 4


def test_errors():
    t = torchlite.tensor(X)
    with pytest.raises(IndexError):
        t.index_fill(1, torchlite.tensor([4]), 0.0)
    with pytest.raises(RuntimeError, match="slice"):
        t.index_copy(0, torchlite.tensor([0]), torchlite.tensor(np.ones((2, 4))))
    with pytest.raises(RuntimeError, match="at least as many"):
        t.masked_scatter(t > 0, torchlite.tensor(np.ones(3)))
    with pytest.raises(RuntimeError, match="boolean"):
        t.masked_scatter(t, t)


def test_gradients():
    i = torchlite.tensor([2, 0])
    check_grad(lambda a: a.index_fill(1, i, 3.0), data((3, 4), 0))
    check_grad(lambda a, b: a.index_copy(0, i, b), data((3, 4), 1), data((2, 4), 2))
    m = torchlite.tensor(data((3, 4), 3) > 0)
    check_grad(lambda a, b: a.masked_scatter(m, b), data((3, 4), 4), data((12,), 5))
    check_grad(lambda a, b: a.put(torchlite.tensor([0, 5, 0]), b, accumulate=True),
               data((3, 4), 6), data((3,), 7))


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    x, src = r.normal(size=(4, 5)), r.normal(size=(20,))
    mask = r.random((4, 5)) > 0.5
    calls = [
        lambda lib, a: a.index_fill(0, lib.tensor([3, 1]), -2.0),
        lambda lib, a: a.index_copy(1, lib.tensor([4, 0]), a[:, :2] * 2),
        lambda lib, a: a.masked_scatter(lib.tensor(mask), lib.tensor(src)),
        lambda lib, a: a.put(lib.tensor([3, 7, 3]), lib.tensor(src[:3]), accumulate=True),
    ]
    for call in calls:
        a, b = torchlite.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        o, p = call(torchlite, a), call(torch, b)
        np.testing.assert_allclose(to_np(o), p.detach().numpy())
        (o * torchlite.tensor(x)).sum().backward()
        (p * torch.tensor(x)).sum().backward()
        np.testing.assert_allclose(to_np(a.grad), b.grad.numpy())
