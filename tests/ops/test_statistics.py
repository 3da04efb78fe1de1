"""quantile, nanquantile, nanmedian, mode, msort, cov, corrcoef, histogram: NumPy references,
float64 gradchecks of the differentiable ones, argument errors, and PyTorch parity."""

import math

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite

T = torchlite.tensor


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_matches_numpy(method):
    x = rand(3, 7)
    q = np.array([0.0, 0.1, 0.5, 0.75, 1.0])
    got = torchlite.quantile(T(x), T(q), dim=1, interpolation=method)
    np.testing.assert_allclose(to_np(got), np.quantile(x, q, axis=1, method=method))
    got = torchlite.quantile(T(x), 0.3, interpolation=method)  # all elements
    np.testing.assert_allclose(to_np(got), np.quantile(x, 0.3, method=method))
    kept = torchlite.quantile(T(x), T(q), dim=0, keepdim=True, interpolation=method)
    want = np.quantile(x, q, axis=0, keepdims=True, method=method)
    assert tuple(kept.shape) == want.shape
    np.testing.assert_allclose(to_np(kept), want)
    x[1, 2] = np.nan
    np.testing.assert_allclose(to_np(torchlite.nanquantile(T(x), T(q), dim=1,
                                                           interpolation=method)),
                               np.nanquantile(x, q, axis=1, method=method))
    got = to_np(torchlite.quantile(T(x), 0.5, dim=1))
    assert np.isnan(got[1]) and not np.isnan(got[[0, 2]]).any()


def test_quantile_gradients_and_errors():
    check_grad(lambda x: torchlite.quantile(x, 0.3, dim=1), rand(3, 6))
    check_grad(lambda x: torchlite.quantile(x, T([0.2, 0.9], dtype=torchlite.float64)), rand(7))
    check_grad(lambda x: torchlite.quantile(x, 0.5, interpolation="midpoint"), rand(6))
    with pytest.raises(RuntimeError, match=r"q must be in the range \[0, 1\] but got 1.5"):
        torchlite.quantile(T([1.0, 2.0]), 1.5)
    with pytest.raises(RuntimeError, match="same dtype as the input"):
        torchlite.quantile(T([1.0, 2.0]), T([0.5], dtype=torchlite.float64))
    with pytest.raises(RuntimeError, match="float or double"):
        torchlite.quantile(T([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match="interpolation"):
        torchlite.quantile(T([1.0, 2.0]), 0.5, interpolation="cubic")
    assert math.isnan(torchlite.nanquantile(T([math.nan, math.nan]), 0.5).item())


def test_nanmedian_mode_msort():
    x = np.array([[1.0, np.nan, 3.0, 2.0], [4.0, 0.0, np.nan, np.nan]])
    values, indices = torchlite.nanmedian(T(x), 1)
    assert to_np(values).tolist() == [2.0, 0.0] and to_np(indices).tolist() == [3, 1]
    assert torchlite.nanmedian(T(x)).item() == 2.0
    v, i = T(x).nanmedian(1, keepdim=True)
    assert tuple(v.shape) == (2, 1)
    m = T([[3.0, 1, 3, 1, 2], [5, 5, 4, 4, 4]])
    values, indices = torchlite.mode(m, 1)
    assert to_np(values).tolist() == [1.0, 4.0]  # the smallest of the most frequent
    assert to_np(indices).tolist() == [3, 4]  # its last occurrence
    assert to_np(torchlite.mode(m, 0).values).tolist() == [3.0, 1, 3, 1, 2]
    leaf = T([[1.0, 2.0, 2.0]], dtype=torchlite.float64, requires_grad=True)
    torchlite.mode(leaf).values.sum().backward()
    assert to_np(leaf.grad).tolist() == [[0.0, 0.0, 1.0]]
    y = rand(4, 3)
    np.testing.assert_allclose(to_np(torchlite.msort(T(y))), np.sort(y, axis=0))


def test_cov_and_corrcoef_match_numpy():
    x = rand(3, 8)
    np.testing.assert_allclose(to_np(torchlite.cov(T(x))), np.cov(x))
    np.testing.assert_allclose(to_np(torchlite.cov(T(x), correction=0)), np.cov(x, ddof=0))
    fw = np.array([1, 2, 1, 3, 1, 1, 2, 1])
    aw = np.linspace(0.5, 2, 8)
    np.testing.assert_allclose(to_np(torchlite.cov(T(x), fweights=T(fw), aweights=T(aw))),
                               np.cov(x, fweights=fw, aweights=aw))
    np.testing.assert_allclose(to_np(torchlite.cov(T(x[0]))), np.cov(x[0]))
    np.testing.assert_allclose(to_np(torchlite.corrcoef(T(x))), np.corrcoef(x))
    check_grad(torchlite.cov, x)
    check_grad(torchlite.corrcoef, x)
    check_grad(lambda t: torchlite.cov(t, aweights=T(aw, dtype=torchlite.float64)), x)
    with pytest.raises(RuntimeError, match="two or fewer dimensions"):
        torchlite.cov(T(rand(2, 2, 2)))
    with pytest.raises(RuntimeError, match="fweights cannot be negative"):
        torchlite.cov(T(x), fweights=T(-fw))


def test_histogram_matches_numpy():
    x = rand(100)
    hist, edges = torchlite.histogram(T(x), bins=7)
    want_h, want_e = np.histogram(x, bins=7)
    np.testing.assert_allclose(to_np(hist), want_h)
    np.testing.assert_allclose(to_np(edges), want_e)
    hist, _ = torchlite.histogram(T(x), bins=T([-3.0, 0.0, 0.5, 3.0], dtype=torchlite.float64),
                                  weight=T(np.abs(x)), density=True)
    np.testing.assert_allclose(to_np(hist), np.histogram(x, [-3, 0, 0.5, 3], weights=np.abs(x),
                                                         density=True)[0])
    h, e = T([1.0, 2.0, 1.0]).histogram(4, range=(0.0, 3.0))
    assert to_np(h).tolist() == [0.0, 2.0, 1.0, 0.0] and h.dtype == torchlite.float32


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    x = rand(4, 6, seed=3)
    x[2, 1] = np.nan
    for method in ("linear", "nearest", "midpoint"):
        for fn in ("quantile", "nanquantile"):
            q = [0.1, 0.5, 0.95]
            mine = getattr(torchlite, fn)(T(x), T(q, dtype=torchlite.float64), dim=1,
                                          keepdim=True, interpolation=method)
            theirs = getattr(torch, fn)(torch.tensor(x), torch.tensor(q, dtype=torch.float64),
                                        dim=1, keepdim=True, interpolation=method)
            np.testing.assert_allclose(to_np(mine), theirs.numpy(), equal_nan=True)
    clean = rand(4, 6, seed=4)
    for fn in (lambda L, t: L.cov(t), lambda L, t: L.corrcoef(t),
               lambda L, t: L.quantile(t, 0.4, dim=0)):
        out = []
        for lib in (torchlite, torch):
            t = lib.tensor(clean, requires_grad=True)
            y = fn(lib, t)
            (y * lib.tensor(np.linspace(1, 2, y.numel()).reshape(tuple(y.shape)))).sum() \
                .backward()
            out.append((y.detach().numpy(), t.grad.numpy()))
        np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10)
        np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10, atol=1e-12)
    m = np.array([[3.0, 1, 3, 1, 2], [5, 5, 4, 4, 4], [7, 7, 7, 8, 8]])
    mine, theirs = torchlite.mode(T(m), 1), torch.mode(torch.tensor(m), 1)
    assert to_np(mine.values).tolist() == theirs.values.tolist()
    assert to_np(mine.indices).tolist() == theirs.indices.tolist()
    y = np.array([[1.0, np.nan, 3.0, 2.0], [4.0, 0.0, np.nan, 9.0]])
    mine, theirs = torchlite.nanmedian(T(y), 1), torch.nanmedian(torch.tensor(y), 1)
    assert to_np(mine.values).tolist() == theirs.values.tolist()
    assert to_np(mine.indices).tolist() == theirs.indices.tolist()


def test_shapes_of_scalar_q_zero_d_inputs_and_single_rows():
    x = T(rand(3, 5))
    assert tuple(torchlite.quantile(x, T(0.3, dtype=torchlite.float64), dim=1).shape) == (3,)
    zero_d = T(2.0)
    assert torchlite.quantile(zero_d, 0.5, keepdim=True).shape == ()
    assert torchlite.nanmedian(zero_d, 0, keepdim=True).values.shape == ()
    assert torchlite.mode(zero_d, 0, keepdim=True).values.shape == ()
    assert torchlite.cov(x[:1]).shape == () and torchlite.corrcoef(x[:1]).item() == 1.0
    assert torchlite.cov(x[0]).item() == pytest.approx(np.cov(x[0].numpy()))


def test_mode_counts_each_nan_apart():
    nan = math.nan
    values, _ = torchlite.mode(T([[nan, 3.0, 3.0, nan, nan], [1.0, nan, nan, 1.0, 2.0]]), 1)
    assert to_np(values).tolist() == [3.0, 1.0]
