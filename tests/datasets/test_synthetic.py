import numpy as np
import pytest

from torchlite.datasets import blobs, moons, regression, spirals


@pytest.mark.parametrize("make", [blobs, moons, spirals, regression])
def test_seeded_and_typed(make):
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.inputs, c.inputs)
    assert a.inputs.dtype == np.float32
    if a.task == "classification":
        assert a.targets.dtype == np.int64 and a.targets.ndim == 1
    else:
        assert a.targets.dtype == np.float32 and a.targets.ndim == 2


def test_blobs_clusters_sit_on_their_centers():
    ds = blobs(n_samples=3001, centers=3, n_features=4, cluster_std=0.5, seed=3)
    assert ds.inputs.shape == (3001, 4) and ds.num_classes == 3
    assert np.bincount(ds.targets).tolist() == [1001, 1000, 1000]
    centers = np.array(ds.meta["centers"])
    assert centers.shape == (3, 4) and np.all(np.abs(centers) <= 10)
    for k in range(3):
        pts = ds.inputs[ds.targets == k]
        np.testing.assert_allclose(pts.mean(axis=0), centers[k], atol=0.1)
        np.testing.assert_allclose(pts.std(axis=0), 0.5, atol=0.05)
    given = blobs(n_samples=4, centers=np.array([[0.0, 0.0], [5.0, 5.0]]), cluster_std=0.0)
    np.testing.assert_array_equal(given.inputs[given.targets == 1], [[5, 5], [5, 5]])


def test_moons_geometry_without_noise():
    ds = moons(n_samples=101, noise=0.0)
    x, y = ds.inputs.astype(np.float64), ds.targets
    assert np.bincount(y).tolist() == [51, 50]
    top, bottom = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(top[:, 0], top[:, 1]), 1.0, atol=1e-6)
    assert np.all(top[:, 1] >= -1e-6)
    np.testing.assert_allclose(np.hypot(bottom[:, 0] - 1, bottom[:, 1] - 0.5), 1.0, atol=1e-6)
    assert np.all(bottom[:, 1] <= 0.5 + 1e-6)


def test_spirals_geometry_without_noise():
    ds = spirals(n_samples=90, n_classes=3, noise=0.0, turns=1.0)
    x, y = ds.inputs.astype(np.float64), ds.targets
    assert np.bincount(y).tolist() == [30, 30, 30]
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.min() == pytest.approx(0.05, abs=1e-6) and r.max() == pytest.approx(1.0, abs=1e-6)
    theta = np.arctan2(x[:, 1], x[:, 0])
    expected = 2 * np.pi * (y / 3 + r)
    np.testing.assert_allclose(np.cos(theta - expected), 1.0, atol=1e-5)


def test_regression_linear_is_exact_without_noise():
    ds = regression(n_samples=50, n_features=3, noise=0.0, n_targets=2, seed=4)
    coef, intercept = np.array(ds.meta["coef"]), np.array(ds.meta["intercept"])
    assert ds.targets.shape == (50, 2)
    np.testing.assert_allclose(ds.targets, ds.inputs @ coef + intercept, rtol=1e-5, atol=1e-5)
    noisy = regression(n_samples=2000, n_features=3, noise=0.1, seed=4)
    design = np.hstack([noisy.inputs, np.ones((2000, 1))]).astype(np.float64)
    fit, *_ = np.linalg.lstsq(design, noisy.targets.astype(np.float64), rcond=None)
    np.testing.assert_allclose(fit[:3, 0], np.array(noisy.meta["coef"])[:, 0], atol=0.02)
    assert np.all(np.abs(noisy.inputs) <= 2)


def test_regression_nonlinear_formula():
    ds = regression(n_samples=40, n_features=2, noise=0.0, kind="nonlinear", seed=5)
    z = ds.inputs.astype(np.float64) @ np.array(ds.meta["coef"]) / np.sqrt(2)
    np.testing.assert_allclose(ds.targets, np.sin(2 * z) + 0.5 * z**2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: blobs(n_samples=0),
        lambda: blobs(centers=0),
        lambda: blobs(cluster_std=-1),
        lambda: blobs(centers=np.zeros(3)),
        lambda: moons(noise=-0.1),
        lambda: spirals(n_classes=0),
        lambda: regression(kind="cubic"),
        lambda: regression(n_features=0),
        lambda: regression(n_samples=True),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
