"""`torchlite.cuda`: GPU availability, device selection and memory (answers come from the backend).

Without a GPU (or without cupy), as PyTorch on a machine without CUDA: `is_available()` is False,
the memory counters read 0 and `empty_cache()` does nothing, while the calls that need a device
(`current_device`, `get_device_name`, `reset_peak_memory_stats`, ...) raise the error that names
the extra to install.
"""

from __future__ import annotations

from . import backend
from .amp.device_namespaces import cuda_amp as amp  # noqa: F401 - torch.cuda.amp, loads on use
from .backend import OutOfMemoryError

__all__ = [
    "OutOfMemoryError", "current_device", "device", "device_count", "empty_cache",
    "get_device_name", "is_available", "manual_seed", "manual_seed_all", "max_memory_allocated",
    "memory_allocated", "memory_reserved", "reset_peak_memory_stats", "set_device",
    "synchronize",
]


def is_available() -> bool:
    """True when cupy imports and a GPU is visible; False (never an exception) otherwise."""
    return backend.cuda_available()


def device_count() -> int:
    return backend.cuda_device_count()


def current_device() -> int:
    if not is_available():
        backend.to_device("cuda")  # raises the clear "install the extra" error
    return backend.current_cuda_index()


def set_device(index) -> None:
    backend.set_current_cuda_index(backend.device(index).index if not isinstance(index, int)
                                   else index)


class device:
    """Context manager selecting the current GPU: `with torchlite.cuda.device(1): ...`."""

    def __init__(self, index) -> None:
        self.index = index if isinstance(index, int) else backend.device(index).index

    def __enter__(self):
        self._ctx = backend.cuda_device_context(self.index)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._ctx.__exit__(*exc)


def synchronize(device=None) -> None:
    backend.synchronize(backend.device(device) if device is not None else None)


def manual_seed(seed: int) -> None:
    """Random numbers are drawn on the CPU and moved, so this seeds the default generator."""
    from .random import manual_seed as _seed

    _seed(seed)


manual_seed_all = manual_seed


# -- memory -------------------------------------------------------------------------------------


def _index(device, needs_gpu: bool) -> int | None:
    """The GPU index `device` names; None where there is no GPU and `needs_gpu` is False."""
    if device is not None and not (isinstance(device, int) and not isinstance(device, bool)):
        d = backend.device(device)
        if d.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {d}")
    if not is_available():
        if needs_gpu:
            backend.to_device("cuda")  # raises the clear "install the extra" error
        return None
    return backend.cuda_index(device)


def memory_allocated(device=None) -> int:
    """Bytes held by tensors on the GPU (the current one by default); 0 without a GPU.

    CuPy's memory pool rounds each allocation up to 512 bytes, so small tensors count more than
    their size, as in PyTorch's caching allocator.
    """
    i = _index(device, needs_gpu=False)
    return 0 if i is None else backend.cuda_memory_allocated(i)


def max_memory_allocated(device=None) -> int:
    """The peak of `memory_allocated` since the start or `reset_peak_memory_stats`."""
    i = _index(device, needs_gpu=False)
    return 0 if i is None else backend.cuda_max_memory_allocated(i)


def reset_peak_memory_stats(device=None) -> None:
    """Start `max_memory_allocated` again from the current allocation."""
    backend.cuda_reset_peak_memory_stats(_index(device, needs_gpu=True))


def memory_reserved(device=None) -> int:
    """Bytes the memory pool holds from the driver (allocated plus cached); 0 without a GPU."""
    i = _index(device, needs_gpu=False)
    return 0 if i is None else backend.cuda_memory_reserved(i)


def empty_cache() -> None:
    """Return the pool's cached, unused blocks to the driver (tensors in use stay)."""
    backend.cuda_empty_cache()


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. "NVIDIA H100 80GB HBM3"."""
    return backend.cuda_device_name(_index(device, needs_gpu=True))


def __getattr__(name: str):
    # torchlite.cuda.FloatTensor etc.: the legacy constructors live with the CPU ones and are
    # looked up here on first use (this module is imported before the ops they build with)
    from ._legacy_types import CUDA_TYPES

    if name in CUDA_TYPES:
        return CUDA_TYPES[name]
    raise AttributeError(f"module 'torchlite.cuda' has no attribute {name!r}")
