"""Datasets, as `torch.utils.data`: map-style and iterable datasets, and ways to combine them.

The fast path (a torchlite protocol): a map-style dataset whose samples live in whole arrays may
define `__getbatch__(indices)`, taking an int64 NumPy array of indices and returning the batch
already assembled from those arrays by one fancy-indexing operation per array (a NumPy/CuPy array,
or a tuple/list/dict of them). When the DataLoader uses its default collate, it calls
`__getbatch__` instead of `__getitem__` once per sample, and only converts the arrays to Tensors.
`TensorDataset`, `Subset`, `ConcatDataset` (when every part has it) and the datasets of
`torchlite.datasets` implement it. A dataset that sets `_getbatch_ok = False` opts out.

PyTorch's own `__getitems__(indices)` (returning a list of samples for `collate_fn`) is honoured
too, with PyTorch's meaning.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor
from .collate import _tensor_from_array


class Dataset:
    """A map-style dataset: `__getitem__(index)` and, usually, `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream of samples: implement `__iter__`."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


def getbatch_of(dataset) -> Callable[[np.ndarray], Any] | None:
    """The dataset's `__getbatch__` when it supports the vectorised fast path, else None."""
    fn = getattr(dataset, "__getbatch__", None)
    if fn is None or not getattr(dataset, "_getbatch_ok", True):
        return None
    return fn


def _take(arr, indices: np.ndarray):
    """arr[indices] on NumPy or CuPy (CuPy wants its own index array)."""
    if not isinstance(arr, np.ndarray):
        from ... import backend

        indices = backend.get_xp(arr).asarray(indices)
    return arr[indices]


class TensorDataset(Dataset):
    """Samples are the rows of tensors of equal first dimension: `dataset[i]` is
    `(t0[i], t1[i], ...)`. NumPy arrays are accepted and wrapped (zero copy) as Tensors.

    Items and batches are data, detached from any autograd graph of the stored tensors.
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        ts = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = _tensor_from_array(t)
            elif not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} must be a Tensor or NumPy array, "
                    f"got {type(t).__name__}"
                )
            if t._data.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a 0-d tensor; it has no rows")
            ts.append(t)
        sizes = [t._data.shape[0] for t in ts]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first sizes {sizes}")
        self.tensors = tuple(ts)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            index = (int(index), Ellipsis)  # keeps a 0-d array, not a NumPy scalar
        return tuple(Tensor._make(t._data[index], t._device) for t in self.tensors)

    def __getbatch__(self, indices: np.ndarray) -> tuple:
        return tuple(_take(t._data, indices) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0]._data.shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        self._array: np.ndarray | None = None
        self._array_of: object = None  # the `indices` object `_array` was made from

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        inner = getattr(self.dataset, "__getitems__", None)
        if callable(inner):
            return inner([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    @property
    def _getbatch_ok(self) -> bool:
        return getbatch_of(self.dataset) is not None

    def __getbatch__(self, indices: np.ndarray):
        if self._array_of is not self.indices:  # convert once, again only if reassigned
            self._array = np.asarray(self.indices, dtype=np.int64).reshape(-1)
            self._array_of = self.indices
        return self.dataset.__getbatch__(self._array[np.asarray(indices, dtype=np.int64)])

    def __len__(self) -> int:
        return len(self.indices)


def _tree_concat_take(parts: list, order: np.ndarray):
    """Concatenate same-structured batches and reorder the rows by `order`."""
    first = parts[0]
    if isinstance(first, dict):
        return {k: _tree_concat_take([p[k] for p in parts], order) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_tree_concat_take(list(ps), order) for ps in zip(*parts))
    from ... import backend

    xp = backend.get_xp(first)
    return _take(xp.concatenate(parts), order)


class ConcatDataset(Dataset):
    """The datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += n
        if idx >= n:
            raise IndexError(f"index {idx} is out of range for a dataset of {n} samples")
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[d - 1] if d > 0 else 0
        return self.datasets[d][idx - start]

    @property
    def _getbatch_ok(self) -> bool:
        return all(getbatch_of(d) is not None for d in self.datasets)

    def __getbatch__(self, indices: np.ndarray):
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"ConcatDataset: index out of range for a dataset of {n} samples")
        idx = np.where(idx < 0, idx + n, idx)
        cum = np.asarray(self.cumulative_sizes, dtype=np.int64)
        which = np.searchsorted(cum, idx, side="right")
        starts = np.concatenate([[0], cum[:-1]])
        groups = np.unique(which)
        if len(groups) <= 1:
            d = int(groups[0]) if len(groups) else 0
            return self.datasets[d].__getbatch__(idx - starts[d])
        parts, positions = [], []
        for d in groups.tolist():
            sel = np.flatnonzero(which == d)
            parts.append(self.datasets[d].__getbatch__(idx[sel] - starts[d]))
            positions.append(sel)
        placed = np.concatenate(positions)
        order = np.empty_like(placed)
        order[placed] = np.arange(len(placed))
        return _tree_concat_take(parts, order)


class ChainDataset(IterableDataset):
    """Iterable datasets chained one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _split_lengths(lengths: Sequence[int | float], n: int) -> list[int]:
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):  # the remainder, round-robin, as PyTorch does
            sizes[i % len(sizes)] += 1
        return sizes
    if any(isinstance(x, float) and not float(x).is_integer() for x in lengths) or any(
        x < 0 for x in lengths
    ):
        raise ValueError(
            f"random_split: lengths must be non-negative integers summing to {n} or fractions "
            f"summing to 1, got {list(lengths)}"
        )
    sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise ValueError(
            f"Sum of input lengths ({sum(sizes)}) does not equal the length of the input "
            f"dataset ({n})!"
        )
    return sizes


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator=None,
    *,
    seed: int | None = None,
) -> list[Subset]:
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths or fractions.

    Fractions are floored and the leftover samples handed out one each, round-robin, as in
    PyTorch. The permutation is drawn from `numpy.random.default_rng(seed)` when `seed` is given
    (a torchlite addition), otherwise from `generator` (default: torchlite's global generator),
    whose state advances.
    """
    n = len(dataset)
    sizes = _split_lengths(list(lengths), n)
    if seed is not None:
        perm = np.random.default_rng(seed).permutation(n)
    else:
        from ... import random as tl_random  # lazy: the core RNG sits on a lower floor

        perm = tl_random._rng(generator).permutation(n)
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[start : start + size].tolist()))
        start += size
    return out


class StackDataset(Dataset):
    """Several datasets of one length side by side: item i is a tuple (positional datasets)
    or a dict (keyword datasets) of their items i."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        self._length = len(datasets[0])
        if any(len(d) != self._length for d in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else dict(kwargs)

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length
