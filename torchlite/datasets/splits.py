"""Train/validation/test splits: from fractions or from the dataset's own split, optionally
stratified, always a pure function of the seed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .array import ArrayDataset
from .errors import DatasetError


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Sizes of the parts of `n` items cut at `fractions` (summing to 1): floors, then the items
    left over go to the parts with the largest remainders (earlier parts win ties)."""
    fr = [float(f) for f in fractions]
    if (
        not fr
        or any(not math.isfinite(f) or f < 0 for f in fr)
        or not math.isclose(sum(fr), 1.0, abs_tol=1e-6)
    ):
        raise ValueError(
            f"split fractions must be non-negative and sum to 1, got {list(fractions)}"
        )
    exact = [n * f for f in fr]
    sizes = [math.floor(e) for e in exact]
    order = sorted(range(len(fr)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes


def split_indices(
    n: int,
    fractions: Sequence[float],
    seed: int = 0,
    stratify: Sequence | np.ndarray | None = None,
) -> list[np.ndarray]:
    """Disjoint index arrays covering range(n), sized by `split_sizes`, each sorted ascending.

    With `stratify` (one label per item), every part gets each class in (about, within one item)
    the same proportion as the whole. The result depends only on (n, fractions, seed, labels).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"split_indices: n must be a non-negative integer, got {n!r}")
    sizes = split_sizes(int(n), fractions)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    if stratify is not None:
        labels = np.asarray(stratify)
        if labels.shape != (n,):
            raise ValueError(f"split_indices: stratify needs {n} labels, got shape {labels.shape}")
        # Within each class (in random order) item r of c sits at (r + 0.5) / c; sorting all
        # items by that position interleaves the classes evenly, so any prefix is stratified.
        shuffled = labels[perm]
        by_class = np.argsort(shuffled, kind="stable")
        _, starts, counts = np.unique(shuffled[by_class], return_index=True, return_counts=True)
        rank = np.arange(n) - np.repeat(starts, counts)
        position = (rank + 0.5) / np.repeat(counts, counts)
        perm = perm[by_class][np.lexsort((rng.random(n), position))]
    bounds = np.cumsum([0, *sizes])
    return [np.sort(perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


class DatasetSplits(NamedTuple):
    """The parts of a dataset; `val`/`test` are None when they would be empty."""

    train: ArrayDataset
    val: ArrayDataset | None
    test: ArrayDataset | None


def train_val_test_split(
    dataset: ArrayDataset,
    val: float = 0.1,
    test: float = 0.1,
    *,
    seed: int = 0,
    stratify: bool = False,
    use_own_split: bool = True,
) -> DatasetSplits:
    """Split an ArrayDataset into train/val/test ArrayDatasets.

    When the dataset has its own split (`dataset.splits` with "train") and `use_own_split`, its
    "test" (and "val", if present) are used as they are, and a missing part is carved out of
    the own "train" part, `val`/`test` then being fractions of that part. Otherwise `val` and
    `test` are fractions of the whole and train is the rest. `stratify=True` keeps class
    proportions (classification only). Deterministic in `seed`.
    """
    for name, f in (("val", val), ("test", test)):
        if not 0 <= f < 1:
            raise ValueError(f"train_val_test_split: {name} must be in [0, 1), got {f}")
    if val + test >= 1:
        raise ValueError(f"train_val_test_split: val + test must be < 1, got {val + test}")
    if stratify and dataset.task != "classification":
        raise DatasetError(
            f"{dataset.name}: stratify needs class labels, but the task is {dataset.task!r}"
        )
    own = dataset.splits if use_own_split and "train" in dataset.splits else {}
    base = own.get("train", np.arange(len(dataset)))
    parts = {"val": own.get("val"), "test": own.get("test")}
    carve = [k for k, f in (("val", val), ("test", test)) if parts[k] is None and f > 0]
    fractions = {"val": val, "test": test}
    train_idx = base
    if carve:
        fr = [fractions[k] for k in carve]
        labels = dataset.targets[base] if stratify else None
        cut = split_indices(len(base), [1 - sum(fr), *fr], seed=seed, stratify=labels)
        train_idx = base[cut[0]]
        for k, idx in zip(carve, cut[1:]):
            parts[k] = base[idx]

    def make(idx):
        return dataset.subset(idx) if idx is not None and len(idx) else None

    train = make(train_idx)
    if train is None:
        raise DatasetError(f"{dataset.name}: the training split is empty")
    train.name = f"{dataset.name}[train]"
    val_ds, test_ds = make(parts["val"]), make(parts["test"])
    if val_ds is not None:
        val_ds.name = f"{dataset.name}[val]"
    if test_ds is not None:
        test_ds.name = f"{dataset.name}[test]"
    return DatasetSplits(train, val_ds, test_ds)
