"""Seeded synthetic datasets for tests and demos: blobs, moons, spirals, regression.

Each returns an ArrayDataset of float32 inputs (N, n_features) in a random order, and is a pure
function of its arguments (default `seed=0`).
"""

from __future__ import annotations

import numpy as np

from .array import ArrayDataset


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _non_negative(name: str, value: float) -> float:
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def _even_counts(n: int, k: int) -> np.ndarray:
    counts = np.full(k, n // k)
    counts[: n % k] += 1
    return counts


def _classification(x, y, rng, name: str, k: int, meta: dict) -> ArrayDataset:
    order = rng.permutation(len(x))
    return ArrayDataset(
        x[order].astype(np.float32),
        y[order].astype(np.int64),
        task="classification",
        classes=[str(i) for i in range(k)],
        name=name,
        meta=meta,
    )


def blobs(
    n_samples: int = 300,
    centers: int | np.ndarray = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    seed: int = 0,
) -> ArrayDataset:
    """Gaussian clusters, one class per center (random centers in `center_box`, or given)."""
    n = _positive("n_samples", n_samples)
    std = _non_negative("cluster_std", cluster_std)
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = _positive("centers", centers)
        d = _positive("n_features", n_features)
        c = rng.uniform(center_box[0], center_box[1], size=(k, d))
    else:
        c = np.asarray(centers, dtype=np.float64)
        if c.ndim != 2 or len(c) == 0:
            raise ValueError(f"centers must be an int or a (k, n_features) array, got {c.shape}")
        k = len(c)
    y = np.repeat(np.arange(k), _even_counts(n, k))
    x = c[y] + std * rng.standard_normal((n, c.shape[1]))
    return _classification(x, y, rng, "blobs", k, {"centers": c.tolist()})


def moons(n_samples: int = 300, noise: float = 0.1, seed: int = 0) -> ArrayDataset:
    """Two interleaving half circles (class 0 on top, class 1 below), plus Gaussian noise."""
    n = _positive("n_samples", n_samples)
    noise = _non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    n0, n1 = _even_counts(n, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    top = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    bottom = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([top, bottom]) + noise * rng.standard_normal((n, 2))
    y = np.repeat([0, 1], [n0, n1])
    return _classification(x, y, rng, "moons", 2, {})


def spirals(
    n_samples: int = 300,
    n_classes: int = 2,
    noise: float = 0.1,
    turns: float = 1.0,
    seed: int = 0,
) -> ArrayDataset:
    """`n_classes` interleaved spiral arms from the origin to radius 1, `turns` turns each."""
    n = _positive("n_samples", n_samples)
    k = _positive("n_classes", n_classes)
    noise = _non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), _even_counts(n, k))
    r = np.concatenate([np.linspace(0.05, 1.0, c) for c in _even_counts(n, k)])
    theta = 2 * np.pi * (y / k + turns * r) + noise * rng.standard_normal(n)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return _classification(x, y, rng, "spirals", k, {})


def regression(
    n_samples: int = 200,
    n_features: int = 1,
    noise: float = 0.1,
    kind: str = "linear",
    n_targets: int = 1,
    seed: int = 0,
) -> ArrayDataset:
    """Real-valued targets (N, n_targets) from inputs x ~ U(-2, 2)^n_features.

    "linear": y = x @ coef + intercept + noise (coef, intercept ~ N(0, 1), kept in `meta`).
    "nonlinear": y = sin(2 z) + 0.5 z^2 + noise with z = x @ coef / sqrt(n_features).
    """
    n = _positive("n_samples", n_samples)
    d = _positive("n_features", n_features)
    t = _positive("n_targets", n_targets)
    noise = _non_negative("noise", noise)
    if kind not in ("linear", "nonlinear"):
        raise ValueError(f"kind must be 'linear' or 'nonlinear', got {kind!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, d))
    coef = rng.standard_normal((d, t))
    intercept = rng.standard_normal(t)
    if kind == "linear":
        clean = x @ coef + intercept
        meta = {"kind": kind, "coef": coef.tolist(), "intercept": intercept.tolist()}
    else:
        z = x @ coef / np.sqrt(d)
        clean = np.sin(2 * z) + 0.5 * z**2
        meta = {"kind": kind, "coef": coef.tolist()}
    y = clean + noise * rng.standard_normal((n, t))
    return ArrayDataset(
        x.astype(np.float32), y.astype(np.float32), task="regression", name="regression", meta=meta
    )
