"""GPU memory accounting: a tracking allocator around CuPy's memory pool, and the OOM error.

Nothing here imports cupy. `backend` builds one `TrackingAllocator` from the default memory
pool's functions when it first imports cupy and installs it with `cupy.cuda.set_allocator`;
tests drive the same class with a fake pool.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import OutOfMemoryError


def format_bytes(n: int) -> str:
    """A byte count for people: "512 bytes", "1.50 KiB", "2.00 GiB"."""
    n = int(n)
    if abs(n) < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024.0
        if abs(value) < 1024.0 or unit == "PiB":
            return f"{value:.2f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


class TrackingAllocator:
    """A CuPy allocator (a callable `nbytes -> MemoryPointer`) wrapping a pool's `malloc`.

    After each allocation it reads the pool's used bytes and keeps their peak per device, which
    is `max_memory_allocated`. Frees need no hook: the peak can only rise at an allocation.
    A failed allocation (`oom_errors`, CuPy's OutOfMemoryError, raised after the pool has
    already returned its cached blocks and retried) becomes an `OutOfMemoryError` naming the
    size requested and the pool's usage.

    Args:
        malloc: the pool's `malloc(nbytes)`.
        used_bytes, total_bytes: the pool's byte counts on the current device (bytes held by
            arrays; bytes held from the driver, cached blocks included).
        current_device: the current device's index.
        oom_errors: the exception type(s) `malloc` raises when memory runs out.
        device_memory: optional `() -> (free, total)` of the current device, for the message.
    """

    __slots__ = ("_malloc", "_used", "_total", "_current", "_oom", "_device_memory", "peak")

    def __init__(self, malloc: Callable, *, used_bytes: Callable[[], int],
                 total_bytes: Callable[[], int], current_device: Callable[[], int],
                 oom_errors, device_memory: Callable[[], tuple[int, int]] | None = None) -> None:
        self._malloc = malloc
        self._used = used_bytes
        self._total = total_bytes
        self._current = current_device
        self._oom = oom_errors
        self._device_memory = device_memory
        self.peak: dict[int, int] = {}

    def __call__(self, nbytes: int):
        try:
            mem = self._malloc(nbytes)
        except self._oom as exc:
            raise OutOfMemoryError(self.message(nbytes)) from exc
        used = self._used()
        dev = self._current()
        # a race between threads can only lose a peak to another thread's equal-or-later read
        if used > self.peak.get(dev, 0):
            self.peak[dev] = used
        return mem

    def max_allocated(self, device: int) -> int:
        """The peak of used bytes on `device` since the start or the last `reset_peak`."""
        return self.peak.get(device, 0)

    def reset_peak(self, device: int, used: int) -> None:
        self.peak[device] = int(used)

    def message(self, nbytes: int) -> str:
        """The one-line out-of-memory message for a request of `nbytes`."""
        dev = _safe(self._current)
        where = f"cuda:{dev}" if dev is not None else "the GPU"
        used, total = _safe(self._used), _safe(self._total)
        parts = [f"CUDA out of memory on {where}: tried to allocate {format_bytes(nbytes)}"]
        if used is not None and total is not None:
            parts.append(f"the memory pool holds {format_bytes(total)} ({total} bytes), of "
                         f"which {format_bytes(used)} ({used} bytes) are in use by tensors")
        info = _safe(self._device_memory) if self._device_memory is not None else None
        if info is not None:
            free, capacity = info
            parts.append(f"the device has {format_bytes(free)} free of {format_bytes(capacity)}")
        parts.append("try a smaller batch size (data.batch_size, or --batch-size for eval and "
                     "infer) or a smaller model, and free tensors you no longer need")
        return "; ".join(parts)


def _safe(fn):
    """fn(), or None when it fails: the OOM message must not raise a second error."""
    try:
        return fn()
    except Exception:
        return None
