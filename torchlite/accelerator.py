"""`torchlite.accelerator`: the device-agnostic accelerator API of PyTorch 2.6+.

torchlite's only accelerator is an NVIDIA GPU through CuPy, so each call asks `torchlite.cuda`.
"""

from __future__ import annotations

from . import backend

__all__ = ["current_accelerator", "current_device_index", "device_count", "is_available",
           "set_device_index", "synchronize"]


def is_available() -> bool:
    """True when a GPU is usable here (CuPy imports and sees one); never raises."""
    return backend.cuda_available()


def device_count() -> int:
    """The number of GPUs (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()


def current_accelerator(check_available: bool = False) -> backend.device | None:
    """`device("cuda")` where a GPU is usable, else None (as PyTorch on a CPU-only machine)."""
    return backend.device("cuda") if backend.cuda_available() else None


def _require() -> None:
    if not backend.cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def current_device_index() -> int:
    _require()
    return backend.current_cuda_index()


def set_device_index(device) -> None:
    _require()
    index = device if isinstance(device, int) else backend.device(device).index
    backend.set_current_cuda_index(index)


def synchronize(device=None) -> None:
    _require()
    backend.synchronize(backend.device(device) if device is not None else None)
