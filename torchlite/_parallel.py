"""Intra-op threads for long elementwise updates (NumPy only), and `set_num_threads`.

An optimizer step over millions of parameters is a chain of ufunc passes. NumPy's ufuncs
release the GIL while they loop, so the parameters can be cut into chunks that two or more
threads update at once, as PyTorch's multi-threaded kernels do. Chunks are large because every
ufunc call hands the GIL over between threads, which costs tens of microseconds: measured on a
2-core x86 machine for Adam over 10M float32 parameters in 50 tensors, one thread takes 20-22
ms; two threads take 15-16 ms with 512K-element chunks but 21 ms with 64K and 34 ms with 16K.
For the same reason ops of a few hundred microseconds (an activation, a pooling window) are not
worth splitting: a two-thread relu over 1.2 MB measured 180 us against 129 us on one thread.

Chunking never changes a result: every chunk runs the same elementwise arithmetic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _workspace as ws

__all__ = ["elementwise", "elementwise_many", "get_num_threads", "set_num_threads"]

# Below this many elements an update runs as whole-array passes on the calling thread: the
# chunking and the hand-off to the pool cost more than they save.
PARALLEL_MIN = 1 << 20
CHUNK = 1 << 19  # the largest chunk: few GIL hand-overs (see the module docstring)
MIN_CHUNK = 1 << 16  # the smallest, for updates of a few hundred thousand elements

_lock = threading.Lock()
_threads: int | None = None  # None: not set, use the default
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _default_threads() -> int:
    global _default
    if _default is None:
        try:
            _default = max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):  # not on Linux
            _default = max(1, os.cpu_count() or 1)
    return _default


_default: int | None = None


def get_num_threads() -> int:
    """Threads torchlite's own parallel loops use (default: the CPUs this process may use).

    NumPy's BLAS has its own threads, set by OMP_NUM_THREADS / OPENBLAS_NUM_THREADS before
    NumPy is imported."""
    return _threads if _threads is not None else _default_threads()


def set_num_threads(n: int) -> None:
    """Set the threads of torchlite's parallel loops, as `torch.set_num_threads` (n >= 1)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    global _threads
    with _lock:
        _threads = int(n)


def _get_pool(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="torchlite")
            _pool_size = workers
        return _pool


def elementwise(kernel: Callable[..., None], arrays: Sequence[np.ndarray], n_scratch: int,
                scratch_dtype) -> None:
    """Run `kernel(*arrays, *scratch)` over `arrays`, which share one shape and are updated in
    place; `scratch` are `n_scratch` arrays of `scratch_dtype` that the kernel may overwrite.
    The one-tensor case of `elementwise_many`."""
    elementwise_many(kernel, [arrays], n_scratch, scratch_dtype)


def elementwise_many(kernel: Callable[..., None], groups: Sequence[Sequence[np.ndarray]],
                     n_scratch: int, scratch_dtype, parallel_min: int | None = None) -> None:
    """Run `kernel(*arrays, *scratch)` for every `arrays` in `groups` (a multi-tensor update:
    one parameter's operands per entry, each entry's arrays sharing one shape).

    When the entries hold `parallel_min` (default PARALLEL_MIN) elements or more in all (lower
    for kernels with more passes per element, which hide the hand-overs better), their
    C-contiguous NumPy operands are cut into chunks that the threads share (many small tensors
    spread as well as one large one); anything else runs whole on the calling thread, with
    scratch from the workspace pool.
    """
    threads = get_num_threads()
    total = sum(a[0].size for a in groups)
    if threads == 1 or total < (PARALLEL_MIN if parallel_min is None else parallel_min):
        for arrays in groups:
            _whole(kernel, arrays, n_scratch, scratch_dtype)
        return
    # about two chunks per thread when that keeps them above MIN_CHUNK: few GIL hand-overs
    chunk = min(CHUNK, max(MIN_CHUNK, -(-total // (2 * threads))))
    items = []  # (flat operands, start, end)
    rest = []
    for arrays in groups:
        if type(arrays[0]) is np.ndarray and all(a.flags.c_contiguous for a in arrays):
            flat = [a.reshape(-1) for a in arrays]
            size = arrays[0].size
            items += [(flat, s, min(s + chunk, size)) for s in range(0, size, chunk)]
        else:
            rest.append(arrays)
    workers = min(threads, len(items))
    shares = _balance(items, workers)

    def work(k: int) -> None:
        scratch = [np.empty(chunk, dtype=scratch_dtype) for _ in range(n_scratch)]
        for flat, s, e in shares[k]:
            kernel(*(f[s:e] for f in flat), *(b[:e - s] for b in scratch))

    futures = []
    if workers > 1:
        pool = _get_pool(workers - 1)
        futures = [pool.submit(work, k) for k in range(1, workers)]
    try:
        if workers:
            work(0)  # the calling thread takes a share too
        for arrays in rest:
            _whole(kernel, arrays, n_scratch, scratch_dtype)
    finally:
        for f in futures:
            f.result()


def _balance(items, workers: int) -> list[list]:
    """Deal the chunks out, largest first, each to the worker with the least work so far."""
    shares: list[list] = [[] for _ in range(workers)]
    load = [0] * workers
    for item in sorted(items, key=lambda it: it[1] - it[2]):  # largest (end - start) first
        k = load.index(min(load))
        shares[k].append(item)
        load[k] += item[2] - item[1]
    return shares


def _whole(kernel, arrays, n_scratch: int, scratch_dtype) -> None:
    first = arrays[0]
    if type(first) is np.ndarray:
        scratch = [ws.empty(np, first.shape, scratch_dtype) for _ in range(n_scratch)]
    else:
        scratch = [_like(first, scratch_dtype) for _ in range(n_scratch)]
    kernel(*arrays, *scratch)


def _like(a, dtype):
    from .backend import get_xp

    return get_xp(a).empty(a.shape, dtype=dtype)
