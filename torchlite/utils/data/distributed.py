"""DistributedSampler, as torch.utils.data.distributed.DistributedSampler: each rank visits its
own share of the dataset.

Sharding and padding are PyTorch's: without drop_last the index list is padded by repeating
its head until it divides evenly, then rank r takes every num_replicas-th index from position
r; with drop_last the tail is dropped instead. The shuffled order of a pass is a pure function
of (seed, epoch), the same on every rank, drawn as torchlite's other samplers draw theirs
(NumPy's generator seeded with [seed, epoch]; PyTorch uses torch.randperm, so the shuffled
orders, though not the sharding, differ from PyTorch's). Call `set_epoch(e)` before each epoch,
as with PyTorch, or every epoch repeats one order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np

from .sampler import Sampler, epoch_rng

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of rank `rank` of `num_replicas` (default: the process group's)."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("Requires distributed package to be available (call "
                                   "torchlite.distributed.init_process_group first, or pass "
                                   "num_replicas and rank)")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = int(seed)

    def _next_indices(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            indices = epoch_rng(self.seed, self.epoch).permutation(n).astype(np.int64)
        else:
            indices = np.arange(n, dtype=np.int64)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                indices = np.concatenate([indices, np.resize(indices, pad)]) if n else indices
        else:
            indices = indices[:self.total_size]
        return indices[self.rank:self.total_size:self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self._next_indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use `epoch` for the order of the next passes (every rank must call it alike)."""
        self.epoch = int(epoch)
