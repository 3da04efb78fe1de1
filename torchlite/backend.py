"""The backend seam: devices, array modules, dtypes (defined in _dtype.py, re-exported here).

This is the only module that imports cupy, and it does so lazily: `import torchlite` never touches
the GPU stack. Everything else asks here for the array module (`numpy` or `cupy`) of a device.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from ._cuda_memory import OutOfMemoryError as OutOfMemoryError  # torchlite.cuda re-exports it
from ._cuda_memory import TrackingAllocator
from ._dtype import (  # noqa: F401 - the dtype table is part of the backend seam
    bfloat16,
    bool_,
    dtype,
    finfo,
    float16,
    float32,
    float64,
    from_numpy_dtype,
    get_default_dtype,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    is_bfloat16,
    qint8,
    qint32,
    quint8,
    set_default_dtype,
    to_dtype,
    uint8,
)
from .errors import DeviceUnavailableError

# ----------------------------------------------------------------------------------------------
# devices

_cupy = None
_cupy_error: str | None = None
_lock = threading.Lock()
_allocator: TrackingAllocator | None = None


def _import_cupy():
    """Import cupy once; remember why it failed so later errors can say so."""
    global _cupy, _cupy_error
    if _cupy is not None or _cupy_error is not None:
        return _cupy
    with _lock:
        try:
            import cupy  # the one place cupy is imported

            cupy.cuda.runtime.getDeviceCount()
            _install_allocator(cupy)
            _cupy = cupy
        except Exception as exc:  # no cupy, no driver, no GPU: all mean "no CUDA here"
            _cupy_error = f"{type(exc).__name__}: {exc}"
    return _cupy


def _install_allocator(cp) -> None:
    """Route CuPy's allocations through a TrackingAllocator over its default memory pool (peak
    memory per device; out-of-memory errors that say how much was asked and what is held)."""
    global _allocator
    pool = cp.get_default_memory_pool()
    runtime = cp.cuda.runtime
    tracker = TrackingAllocator(
        pool.malloc, used_bytes=pool.used_bytes, total_bytes=pool.total_bytes,
        current_device=runtime.getDevice, oom_errors=cp.cuda.memory.OutOfMemoryError,
        device_memory=runtime.memGetInfo)
    try:
        cp.cuda.set_allocator(tracker)
    except Exception:  # an unusual CuPy build: keep its allocator; peaks then read as current use
        return
    _allocator = tracker


def cuda_available() -> bool:
    """True when cupy imports and sees at least one GPU. Never raises."""
    cp = _import_cupy()
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def cuda_device_count() -> int:
    cp = _import_cupy()
    if cp is None:
        return 0
    try:
        return cp.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def _require_cupy():
    cp = _import_cupy()
    if cp is None or not cuda_available():
        if _cupy_error is None or _cupy_error.startswith(("ImportError", "ModuleNotFoundError")):
            hint = ("Install the extra matching your CUDA toolkit: pip install "
                    "'torchlite[cuda12]' or 'torchlite[cuda13]'")
        else:  # cupy imports, but finds no driver or GPU: installing it again will not help
            hint = "cupy is installed but cannot use a GPU here (no NVIDIA driver or GPU?)"
        raise DeviceUnavailableError(
            "CUDA is not available: torchlite needs cupy and an NVIDIA GPU for device 'cuda'. "
            f"{hint} (cupy said: {_cupy_error or 'no GPU found'})"
        )
    return cp


def nccl_module():
    """cupy.cuda.nccl (CuPy's NCCL bindings) for torchlite.distributed; None where absent."""
    _require_cupy()
    try:
        from cupy.cuda import nccl
    except ImportError:
        return None
    return nccl if getattr(nccl, "available", True) else None


def cupy_module():
    """The cupy module, for code that works on cupy arrays it was handed (fused kernels);
    the clear "CUDA is not available" error where there is none."""
    return _require_cupy()


class device:
    """Where a tensor lives: `device("cpu")`, `device("cuda")`, `device("cuda:1")`,
    `device("cuda", 0)`.

    Device objects are interned, so `a.device is b.device` holds for equal devices.
    """

    __slots__ = ("type", "index")
    _cache: dict = {}

    def __new__(cls, spec="cpu", index=None):
        if isinstance(spec, device):
            return spec
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"device: expected one of cpu, cuda, cuda:N as device type, got {spec!r}"
            )
        if idx:
            if index is not None:
                raise RuntimeError(f"device: index given twice in {spec!r} and index={index}")
            if not idx.isdigit():
                raise RuntimeError(f"device: invalid device index in {spec!r}")
            index = int(idx)
        if kind == "cpu":
            index = None
        elif index is None:
            index = 0
        key = (kind, index)
        obj = cls._cache.get(key)
        if obj is None:
            obj = object.__new__(cls)
            object.__setattr__(obj, "type", kind)
            object.__setattr__(obj, "index", index)
            cls._cache[key] = obj
        return obj

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return self is other

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))

    def __enter__(self) -> device:
        """`with torchlite.device("cuda"):` makes this the default device of the factory
        functions for the block (see `set_default_device`), as in PyTorch."""
        _default.stack.append(_default.device)
        set_default_device(self)
        return self

    def __exit__(self, *exc) -> None:
        _default.device = _default.stack.pop()


CPU = device("cpu")


class _DefaultDevice(threading.local):
    device: device | None = None  # None: not set (the CPU, and tensor(t) keeps t's device)

    def __init__(self) -> None:
        self.stack: list = []


_default = _DefaultDevice()


def set_default_device(d) -> None:
    """Make `d` the device of tensors made by the factory functions that are given no `device=`
    (for this thread, as PyTorch): tensor, as_tensor, zeros, ones, empty, full, arange, linspace,
    logspace, eye, rand, randn, randint, randperm, and the parameters and buffers of nn layers.
    `*_like` functions keep their input's device, and `from_numpy` and the legacy
    `Tensor(...)` constructor stay on the CPU, as in PyTorch. None restores the CPU.
    """
    _default.device = None if d is None else to_device(d)


def get_default_device() -> device:
    """The device factory functions use when given none (the CPU unless set)."""
    return _default.device or CPU


def explicit_default_device() -> device | None:
    """The device set by set_default_device, or None when none was set."""
    return _default.device


def factory_device(spec) -> device:
    """The device a factory function puts a new tensor on: `spec`, else the default device."""
    if spec is None:
        return _default.device or CPU
    return to_device(spec)


def to_device(spec) -> device:
    """Parse a device argument; raise a clear error when CUDA is asked for but absent."""
    if spec is None:
        return CPU
    d = device(spec)
    if d.type == "cuda":
        cp = _require_cupy()
        n = cp.cuda.runtime.getDeviceCount()
        if d.index >= n:
            raise DeviceUnavailableError(
                f"device {d}: invalid device ordinal, {n} CUDA device(s) present")
    return d


def xp_for(d: device):
    """The array module for a device: numpy on the CPU, cupy on a GPU."""
    if d.type == "cpu":
        return np
    return _require_cupy()


def array_device(arr) -> device:
    """The device an array lives on."""
    if isinstance(arr, np.ndarray) or np.isscalar(arr):
        return CPU
    dev = getattr(arr, "device", None)
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return device("cuda", dev.id)
    return CPU


def get_xp(arr):
    """The array module that owns `arr` (numpy for NumPy arrays and scalars)."""
    if isinstance(arr, np.ndarray):
        return np
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return _cupy
    # a differentiable stand-in (autograd.darray) names its own namespace
    return getattr(arr, "_xp_namespace", np)


def get_xsp(arr):
    """The sparse-matrix module for `arr`'s device: scipy.sparse on the CPU, cupyx.scipy.sparse
    on a GPU (the same API, as numpy and cupy are). Imported on first use."""
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        import cupyx.scipy.sparse as csp  # cupy is already imported: arr is a cupy array

        return csp
    try:
        import scipy.sparse as sp
    except ImportError as exc:
        raise ImportError(
            "sparse tensor kernels need scipy: pip install 'torchlite[sparse]'") from exc
    return sp


def move(arr, d: device):
    """Copy an array to device `d` (no copy when it is already there)."""
    src = array_device(arr)
    if src == d:
        return arr
    if d.type == "cpu":
        return arr.get()
    if arr.dtype.kind == "V":
        raise TypeError(f"bfloat16 tensors cannot move to {d}: CuPy has no bfloat16 arrays "
                        "(use float16, or keep bfloat16 on the CPU)")
    cp = _require_cupy()
    with cp.cuda.Device(d.index):
        return cp.asarray(arr)


def to_host(arr) -> np.ndarray:
    """`arr` as a NumPy array (itself when it is one; from a GPU, a copy that waits for the
    device, so not inside a step)."""
    return move(arr, CPU)


@contextlib.contextmanager
def cuda_device_context(index: int):
    cp = _require_cupy()
    with cp.cuda.Device(index):
        yield


def current_cuda_index() -> int:
    return _require_cupy().cuda.runtime.getDevice()


def set_current_cuda_index(index: int) -> None:
    _require_cupy().cuda.runtime.setDevice(index)


def synchronize(d: device | None = None) -> None:
    cp = _import_cupy()
    if cp is not None and cuda_available():
        cp.cuda.Device(d.index if d is not None and d.index is not None else 0).synchronize()


def cuda_event_record() -> object:
    """A CUDA event recorded now on the current stream (GPU timing for the profiler)."""
    cp = _require_cupy()
    event = cp.cuda.Event()
    event.record()
    return event


def cuda_event_elapsed_us(start, end) -> float:
    """GPU microseconds between two recorded events (waits for `end`)."""
    cp = _require_cupy()
    end.synchronize()
    return float(cp.cuda.get_elapsed_time(start, end)) * 1e3


# ----------------------------------------------------------------------------------------------
# GPU memory (the pool's numbers; see _cuda_memory.TrackingAllocator)


def cuda_index(spec=None) -> int:
    """The GPU index a memory query means: the current device for None, else an int, "cuda:N"
    or a device. A CPU device is a ValueError, as in PyTorch."""
    if spec is None:
        return current_cuda_index()
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec
    d = device(spec)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return d.index


def _pool_on(cp, index: int, fn):
    with cp.cuda.Device(index):
        return fn(cp.get_default_memory_pool())


def cuda_memory_allocated(index: int) -> int:
    """Bytes held by arrays on GPU `index` (the pool's used bytes, in 512-byte blocks)."""
    cp = _require_cupy()
    return int(_pool_on(cp, index, lambda pool: pool.used_bytes()))


def cuda_max_memory_allocated(index: int) -> int:
    used = cuda_memory_allocated(index)
    peak = _allocator.max_allocated(index) if _allocator is not None else 0
    return max(peak, used)


def cuda_reset_peak_memory_stats(index: int) -> None:
    used = cuda_memory_allocated(index)
    if _allocator is not None:
        _allocator.reset_peak(index, used)


def cuda_memory_reserved(index: int) -> int:
    cp = _require_cupy()
    return int(_pool_on(cp, index, lambda pool: pool.total_bytes()))


def cuda_empty_cache() -> None:
    """Give the pool's cached (unused) blocks back to the driver, on each device it allocated
    on (visiting another device would create a CUDA context there)."""
    cp = _import_cupy()
    if cp is None or not cuda_available():
        return
    used = set(_allocator.peak) if _allocator is not None else set()
    for index in sorted(used | {current_cuda_index()}):
        _pool_on(cp, index, lambda pool: pool.free_all_blocks())


def cuda_device_name(index: int) -> str:
    cp = _require_cupy()
    name = cp.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)

