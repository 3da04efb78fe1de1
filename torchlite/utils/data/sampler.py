"""Samplers: which dataset indices a DataLoader visits, and in what order.

Reproducibility (a torchlite addition to PyTorch's samplers): every random sampler has a base
`seed` and an epoch counter, and the order of a pass is a pure function of `(seed, epoch)`, drawn
from `numpy.random.default_rng([seed, epoch])`. The base seed is, in order of preference, the
`seed` argument, `generator.initial_seed()` when a torchlite `Generator` is given, or one number
drawn from torchlite's default generator when the sampler is built (so `torchlite.manual_seed(s)`
before building the loader fixes every epoch). Each pass uses the current epoch and then advances
it by one; `set_epoch(e)` chooses the epoch of the next pass, so a run resumed at epoch `e` that
calls `loader.set_epoch(e)` sees exactly the orders of the uninterrupted run. This differs from
PyTorch, which draws each pass from the generator's running state.

Built-in samplers also expose `_next_indices()`, the whole pass as one int64 array, which the
DataLoader slices into batches without a Python loop per index. `__iter__` yields Python ints.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

_SEED_MOD = 2**64


def resolve_seed(seed: int | None = None, generator=None) -> int:
    """The base seed of a random sampler: `seed`, else `generator.initial_seed()`, else one draw
    from torchlite's default generator."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        return int(seed) % _SEED_MOD
    if generator is not None:
        return int(generator.initial_seed()) % _SEED_MOD
    from ... import random as tl_random  # lazy: the core RNG sits on a lower floor

    return int(tl_random._rng(None).integers(0, 2**63))


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The NumPy generator of one pass: a pure function of (seed, epoch)."""
    return np.random.default_rng([int(seed) % _SEED_MOD, int(epoch)])


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


class Sampler:
    """Base class of samplers: an iterable over dataset indices (or lists of them)."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class _EpochMixin:
    """Seed and epoch counter shared by the random samplers."""

    seed: int
    _epoch: int

    @property
    def epoch(self) -> int:
        """The epoch the next pass will use."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Use `epoch` for the next pass (later passes count up from it)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"set_epoch: epoch must be a non-negative integer, got {epoch!r}")
        self._epoch = int(epoch)

    def _advance(self) -> np.random.Generator:
        rng = epoch_rng(self.seed, self._epoch)
        self._epoch += 1
        return rng


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1, in order."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _next_indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_EpochMixin, Sampler):
    """Random order over a dataset, as `torch.utils.data.RandomSampler`.

    Without replacement, each pass is a permutation (more than `len(data_source)` samples chain
    several permutations); with replacement, `num_samples` uniform draws. See the module docstring
    for how `seed`, `generator` and `set_epoch` fix the order.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator=None,
        *,
        seed: int | None = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got {replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _check_positive_int("num_samples", self.num_samples)
        self.seed = resolve_seed(seed, generator)
        self._epoch = 0

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _next_indices(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        if n == 0:
            raise ValueError("RandomSampler: the dataset is empty")
        rng = self._advance()
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        reps = -(-k // n)
        perms = [rng.permutation(n) for _ in range(reps)]
        return np.concatenate(perms)[:k].astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[int]:
        return iter(self._next_indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_EpochMixin, Sampler):
    """The given indices in a random order, without replacement."""

    def __init__(self, indices: Sequence[int], generator=None, *, seed: int | None = None) -> None:
        self.indices = indices
        self._array = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.generator = generator
        self.seed = resolve_seed(seed, generator)
        self._epoch = 0

    def _next_indices(self) -> np.ndarray:
        return self._array[self._advance().permutation(len(self._array))]

    def __iter__(self) -> Iterator[int]:
        return iter(self._next_indices().tolist())

    def __len__(self) -> int:
        return len(self._array)


class WeightedRandomSampler(_EpochMixin, Sampler):
    """Indices 0..len(weights)-1 drawn with probabilities proportional to `weights`.

    With `replacement=False`, `num_samples` must not exceed the number of non-zero weights.
    """

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator=None,
        *,
        seed: int | None = None,
    ) -> None:
        _check_positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got {replacement!r}")
        if hasattr(weights, "_data"):  # a Tensor, possibly on a GPU
            from ... import backend

            weights = backend.move(weights._data, backend.CPU)
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1-D sequence, but got shape {w.shape}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                "weights should be finite, non-negative and have a positive sum, got "
                f"{w.size} weight(s)"
            )
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                f"from {np.count_nonzero(w)} non-zero weights"
            )
        self.weights = w
        self._p = w / w.sum()
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator
        self.seed = resolve_seed(seed, generator)
        self._epoch = 0

    def _next_indices(self) -> np.ndarray:
        rng = self._advance()
        out = rng.choice(len(self._p), size=self.num_samples, replace=self.replacement, p=self._p)
        return out.astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[int]:
        return iter(self._next_indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter unless
    `drop_last`)."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got {drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def _iter_arrays(self) -> Iterator[np.ndarray]:
        """Batches as int64 arrays: sliced from one array when the sampler can give one."""
        bs = self.batch_size
        nxt = getattr(self.sampler, "_next_indices", None)
        if nxt is not None:
            idx = nxt()
            stop = len(idx) - len(idx) % bs if self.drop_last else len(idx)
            for start in range(0, stop, bs):
                yield idx[start : start + bs]
            return
        for batch in self._iter_lists():
            yield np.asarray(batch, dtype=np.int64)

    def _iter_lists(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __iter__(self) -> Iterator[list[int]]:
        if hasattr(self.sampler, "_next_indices"):
            return (b.tolist() for b in self._iter_arrays())
        return self._iter_lists()

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
