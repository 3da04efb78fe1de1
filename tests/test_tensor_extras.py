"""Tensor's smaller methods: sizes and places (nbytes, itemsize, is_cpu, get_device), sum_to_size,
the legacy new(), isreal, bernoulli, inner/prelu/hardshrink, the in-place products, scans and
fills (addmm_ ... renorm_, cumsum_, fill_diagonal_), and the random fills' distributions."""

import numpy as np
import pytest
from _core_checks import check_grad

import torchlite

T = torchlite.tensor


def test_sizes_places_and_legacy_constructors():
    x = torchlite.arange(12.0).reshape(3, 4)
    assert (x.nbytes, x.itemsize, x.is_cpu, x.get_device()) == (48, 4, True, -1)
    assert x.sum_to_size(1, 4).tolist() == [[12.0, 15.0, 18.0, 21.0]]
    assert x.sum_to_size((3, 1)).tolist() == [[6.0], [22.0], [38.0]]
    assert x.sum_to_size(4).tolist() == [12.0, 15.0, 18.0, 21.0]
    with pytest.raises(RuntimeError, match="is not expandable"):
        x.sum_to_size(2, 4)
    check_grad(lambda t: t.sum_to_size(1, 4), np.arange(12.0).reshape(3, 4))
    assert tuple(x.new(2, 3).shape) == (2, 3) and x.new([1, 2]).dtype == torchlite.float32
    assert x.isreal().all().item() and x.isreal().dtype == torchlite.bool
    assert x[0].inner(x[1]).item() == 38.0
    assert x.hardshrink(2.5)[0].tolist() == [0.0, 0.0, 0.0, 3.0]
    assert x.prelu(T([0.5])).tolist() == x.tolist()
    torchlite.manual_seed(0)
    draws = torchlite.full((20000,), 0.3).bernoulli()
    assert abs(draws.mean().item() - 0.3) < 0.02


def test_inplace_products_scans_and_fills():
    m = torchlite.zeros(2, 2)
    m.addmm_(torchlite.ones(2, 3), torchlite.ones(3, 2), beta=0.5, alpha=2)
    assert m.tolist() == [[6.0, 6.0], [6.0, 6.0]]
    v = torchlite.zeros(2)
    v.addmv_(torchlite.ones(2, 3), torchlite.ones(3))
    assert v.tolist() == [3.0, 3.0]
    r = torchlite.zeros(2, 2)
    r.addr_(T([1.0, 2.0]), T([3.0, 4.0]))
    assert r.tolist() == [[3.0, 4.0], [6.0, 8.0]]
    b = torchlite.zeros(2, 2, 2)
    b.baddbmm_(torchlite.ones(2, 2, 3), torchlite.ones(2, 3, 2))
    assert (b.numpy() == 3).all()
    c = torchlite.zeros(2, 2)
    c.addbmm_(torchlite.ones(2, 2, 3), torchlite.ones(2, 3, 2))
    assert (c.numpy() == 6).all()
    w = torchlite.ones(2, 3)
    w.cumsum_(1)
    assert w.tolist() == [[1.0, 2.0, 3.0]] * 2
    w.cumprod_(0)
    assert w.tolist() == [[1.0, 2.0, 3.0], [1.0, 4.0, 9.0]]
    n = T([[3.0, 4.0], [0.3, 0.4]])
    n.renorm_(2, 0, 1.0)
    np.testing.assert_allclose(n.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    d = torchlite.zeros(3, 3, 3)
    d.fill_diagonal_(7)
    assert d.sum().item() == 21.0 and d[1, 1, 1].item() == 7.0
    tall = torchlite.zeros(5, 2)
    tall.fill_diagonal_(1, wrap=True)
    want = np.zeros((5, 2))
    np.fill_diagonal(want, 1, wrap=True)
    assert tall.numpy().tolist() == want.tolist()
    with pytest.raises(RuntimeError, match="all dimensions of input must be of equal length"):
        torchlite.zeros(2, 3, 4).fill_diagonal_(1)
    # on a tensor in a graph: the in-place result takes over its gradient
    leaf = T([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = leaf * 1
    y.fill_diagonal_(0)
    y.sum().backward()
    assert leaf.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_random_fills_follow_their_distributions():
    torchlite.manual_seed(0)
    n = 50000
    logn = torchlite.empty(n).log_normal_(0.5, 0.25).numpy()
    assert abs(np.log(logn).mean() - 0.5) < 0.01 and abs(np.log(logn).std() - 0.25) < 0.01
    geo = torchlite.empty(n).geometric_(0.25).numpy()
    assert geo.min() == 1 and abs(geo.mean() - 4.0) < 0.1
    cau = torchlite.empty(n).cauchy_(2.0, 0.5).numpy()
    assert abs(np.median(cau) - 2.0) < 0.02
    assert abs(np.median(np.abs(cau - 2.0)) - 0.5) < 0.02  # the half-width at half maximum
