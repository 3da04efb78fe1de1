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

The thread policy of the command line lives here too (`thread_policy`, `apply_threads`): one
count for these loops and for NumPy's BLAS, set at run time through threadpoolctl. BLAS threads
that spin against another busy process made small trainings 5-9x slower on a loaded 2-core
machine, and small work gains nothing from a second thread on an idle one, so small work gets
one thread; an explicit count (`--threads`, `set_num_threads`) or the standard environment
variables win over that guess.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import _workspace as ws

__all__ = ["ThreadChoice", "apply_threads", "elementwise", "elementwise_many", "env_threads",
           "get_num_threads", "set_num_threads", "thread_policy"]

# Below this many elements an update runs as whole-array passes on the calling thread: the
# chunking and the hand-off to the pool cost more than they save.
PARALLEL_MIN = 1 << 20
CHUNK = 1 << 19  # the largest chunk: few GIL hand-overs (see the module docstring)
MIN_CHUNK = 1 << 16  # the smallest, for updates of a few hundred thousand elements

_lock = threading.Lock()
_threads: int | None = None  # None: not set, use the default
_user_set = False  # whether set_num_threads chose _threads (the policy then keeps it)
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
    """Threads torchlite's own parallel loops use (default: the CPUs this process may use)."""
    return _threads if _threads is not None else _default_threads()


def set_num_threads(n: int) -> None:
    """Set the threads of torchlite's parallel loops and of NumPy's BLAS, as
    `torch.set_num_threads` sets its intra-op and BLAS threads (n >= 1). The BLAS part goes
    through threadpoolctl, imported on this first call; without it only torchlite's loops
    change."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    global _user_set
    _set_threads(int(n))
    _user_set = True


def _set_threads(n: int, blas: bool = True) -> None:
    global _threads
    with _lock:
        _threads = n
    if blas:
        _limit_blas(n)


def _limit_blas(n: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency; a broken install keeps BLAS's own
        return
    threadpool_limits(limits=n, user_api="blas")


# Read by OpenMP, OpenBLAS and MKL when NumPy loads them; whoever set one chose the count.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# Multiply-adds per training step (see training.threads.step_macs) below which one thread is
# used: a second BLAS thread saves nothing on matrices this small and costs the most on a busy
# machine. Measured on a 2-core x86 machine (ms per SGD step, one thread vs two): the digits CNN
# (18M) 3.2-4.3 vs 2.7-3.0, the MLP 784-512-256-10 at batch 32 (51M) 1.5-2.1 vs 3.0-13.7,
# LeNet-5 at batch 64 (81M) 10.3-10.7 vs 10.8-13.2; at batch 128 the MLP (206M) gains a third
# from two threads (4.0 vs 2.7).
SMALL_WORK_MACS = 100_000_000


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and why it was chosen (for summary.json and the logs)."""

    threads: int
    source: str  # "--threads", "set_num_threads", an environment variable's name, or "auto"
    reason: str = ""

    def to_dict(self) -> dict:
        return {"threads": self.threads, "source": self.source, "reason": self.reason}


def env_threads() -> tuple[str, int] | None:
    """(variable, count) of the first thread environment variable set to a positive integer."""
    for var in THREAD_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return var, int(value)
    return None


def thread_policy(requested: int | None = None, work_macs: float | None = None) -> ThreadChoice:
    """The thread count for a job: `requested` (--threads) first, then a count set by
    `set_num_threads`, then OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS, then from
    the work: one thread below SMALL_WORK_MACS multiply-adds per step, else every CPU this
    process may use. The choice depends only on these, never on the machine's load, so a seed
    still gives the same run."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, (int, np.integer)) or \
                requested < 1:
            raise ValueError(f"threads: expected a positive integer, got {requested!r}")
        return ThreadChoice(int(requested), "--threads")
    if _user_set and _threads is not None:
        return ThreadChoice(_threads, "set_num_threads")
    env = env_threads()
    if env is not None:
        return ThreadChoice(env[1], env[0])
    cpus = _default_threads()
    if work_macs is not None and work_macs < SMALL_WORK_MACS:
        return ThreadChoice(1, "auto", f"small work ({work_macs / 1e6:.1f}M multiply-adds per "
                            "step)")
    what = f"{work_macs / 1e6:.0f}M multiply-adds per step" if work_macs is not None else \
        "work unknown"
    return ThreadChoice(cpus, "auto", f"{what}, {cpus} CPUs")


def apply_threads(choice: ThreadChoice) -> ThreadChoice:
    """Use `choice` for torchlite's loops and for BLAS. A count from the environment is left to
    BLAS as NumPy loaded it (only torchlite's loops follow it)."""
    if choice.source != "set_num_threads":  # that one was applied when it was set
        _set_threads(choice.threads, blas=choice.source not in THREAD_ENV_VARS)
    return choice


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
