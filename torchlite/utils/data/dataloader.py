"""DataLoader: batches from a dataset, as `torch.utils.data.DataLoader`.

Differences from PyTorch, on purpose:
- Array-backed datasets (those with `__getbatch__`, see dataset.py) are batched by one fancy-index
  per array, not a Python loop per sample, whenever the default collate is in use.
- Shuffling is reproducible: the order of each pass is a pure function of (seed, epoch); pass
  `seed=` (or a `generator`, whose `initial_seed()` is used) and call `set_epoch(e)` when resuming
  at epoch e. Without `set_epoch` the epoch counts passes, starting at 0. See sampler.py.
- `num_workers > 0` uses a pool of threads (not processes) that fetch whole batches ahead, which
  pays for datasets that load per item from files or release the GIL. `worker_init_fn(worker_id)`
  runs once in each thread. Iterable datasets are always read in the calling thread.
- `pin_memory`, `persistent_workers`, `multiprocessing_context` and `pin_memory_device` are
  accepted for compatibility and have no effect.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...autograd.record import RecordedIterator
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, getbatch_of
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    _check_positive_int,
)


@dataclass(frozen=True)
class WorkerInfo:
    """What `get_worker_info()` returns inside a DataLoader worker thread."""

    id: int
    num_workers: int
    dataset: Any


_worker_local = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The current worker's info inside a DataLoader worker thread, else None."""
    return getattr(_worker_local, "info", None)


class DataLoader:
    """Iterate over `dataset` in batches (see the module docstring for torchlite's differences).

    Args: as PyTorch's DataLoader; `seed` (keyword-only, torchlite) seeds the shuffling sampler
    the loader builds when `shuffle=True` and is ignored otherwise.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[Any], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable workers"
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified when num_workers > 0")
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError("prefetch_factor option should be a positive integer")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None or batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler and "
                    "batch_sampler options"
                )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if not self._iterable and sampler is None:
            if shuffle:
                sampler = RandomSampler(dataset, generator=generator, seed=seed)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            if self._iterable:
                _check_positive_int("batch_size", batch_size)
            else:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None else 2
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.seed = seed
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use `epoch`'s order (later passes count up from it)."""
        for obj in (self.sampler, self.batch_sampler, self.dataset):
            if obj is not None and callable(getattr(obj, "set_epoch", None)):
                obj.set_epoch(epoch)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError when the dataset has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # -- iteration -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator:
        # each batch is a range for the profiler, named as PyTorch names its loader's batches
        kind = "_SingleProcessDataLoaderIter" if self.num_workers == 0 else "_ThreadDataLoaderIter"
        return RecordedIterator(self._batches(), f"enumerate(DataLoader)#{kind}.__next__")

    def _batches(self) -> Iterator:
        if self._iterable:
            return self._iter_iterable()
        if self.batch_sampler is None:
            jobs: Iterable = iter(self.sampler)
            fetch = self._fetch_one
        else:
            if isinstance(self.batch_sampler, BatchSampler):
                jobs = self.batch_sampler._iter_arrays()
            else:
                jobs = iter(self.batch_sampler)
            fast = getbatch_of(self.dataset) if self.collate_fn is default_collate else None
            fetch = self._fetch_batch if fast is None else _FastFetch(fast)
        if self.num_workers == 0:
            return map(fetch, jobs)
        return self._iter_threaded(jobs, fetch)

    def _fetch_one(self, index):
        return self.collate_fn(self.dataset[index])

    def _fetch_batch(self, indices):
        if isinstance(indices, np.ndarray):
            indices = indices.tolist()
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            data = getitems(indices)
        else:
            data = [self.dataset[i] for i in indices]
        return self.collate_fn(data)

    def _iter_iterable(self) -> Iterator:
        it = iter(self.dataset)
        if self.batch_size is None:
            for sample in it:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (len(batch) < self.batch_size and self.drop_last):
                return
            yield self.collate_fn(batch)
            if len(batch) < self.batch_size:
                return

    def _iter_threaded(self, jobs: Iterable, fetch: Callable) -> Iterator:
        ids = itertools.count()
        lock = threading.Lock()

        def init() -> None:
            with lock:
                wid = next(ids)
            _worker_local.info = WorkerInfo(wid, self.num_workers, self.dataset)
            if self.worker_init_fn is not None:
                self.worker_init_fn(wid)

        depth = self.num_workers * self.prefetch_factor
        pool = ThreadPoolExecutor(self.num_workers, initializer=init)
        pending: collections.deque = collections.deque()
        try:
            for job in jobs:
                pending.append(pool.submit(fetch, job))
                if len(pending) >= depth:
                    yield self._result(pending.popleft())
            while pending:
                yield self._result(pending.popleft())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _result(self, future):
        try:
            return future.result(timeout=self.timeout or None)
        except FutureTimeout:
            raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds") from None


class _FastFetch:
    """Fetch a batch through the dataset's `__getbatch__` and convert its arrays to Tensors."""

    __slots__ = ("getbatch",)

    def __init__(self, getbatch: Callable) -> None:
        self.getbatch = getbatch

    def __call__(self, indices) -> Any:
        return default_convert(self.getbatch(np.asarray(indices, dtype=np.int64)))
