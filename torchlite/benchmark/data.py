"""Loading the embedded digits dataset and one shuffled epoch through DataLoader.

Rows: loading (`torchlite.datasets.digits()`), one epoch through the vectorised fast path (with a
NumPy floor: permute, index, cast to float32), one epoch through the per-sample path (a custom
collate_fn forces it), and load + fast epoch together. Import time is excluded.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..datasets import digits
from ..utils.data import DataLoader, default_collate
from ._common import BenchmarkError, Row

BATCH = 64
REPEATS, WARMUP = 20, 1


def _epoch(loader) -> int:
    n = 0
    for x, _y in loader:
        n += x.shape[0]
    return n


def _numpy_epoch(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int = 0):
    rng = np.random.default_rng(seed)

    def epoch() -> int:
        perm = rng.permutation(len(images))
        n = 0
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            x, _y = images[idx].astype(np.float32), labels[idx]
            n += x.shape[0]
        return n

    return epoch


def rows(torch=None, batch_size: int = BATCH) -> Iterator[Row]:
    """The four rows; `torch` is accepted for a uniform signature and not used."""
    ds = digits()
    bs = batch_size
    fast = DataLoader(ds, batch_size=bs, shuffle=True, seed=0)
    slow = DataLoader(ds, batch_size=bs, shuffle=True, seed=0,
                      collate_fn=lambda b: default_collate(b))
    floor = _numpy_epoch(ds.inputs, ds.targets, bs)
    counts = (_epoch(fast), _epoch(slow), floor())
    if counts != (len(ds),) * 3:
        raise BenchmarkError(f"data: an epoch saw {counts} samples, expected {len(ds)}")

    def load_and_epoch() -> None:
        _epoch(DataLoader(digits(), batch_size=bs, shuffle=True, seed=0))

    what = f"digits ({len(ds)} samples), batch {bs}"
    yield Row("data load", "torchlite.datasets.digits()", {"torchlite": digits})
    yield Row("data epoch", f"one shuffled epoch, fast path: {what}",
              {"torchlite": lambda: _epoch(fast), "numpy": floor})
    yield Row("data epoch/sample", f"one shuffled epoch, per-sample path: {what}",
              {"torchlite": lambda: _epoch(slow)})
    yield Row("data load+epoch", f"digits() and one fast epoch: {what}",
              {"torchlite": load_and_epoch})
