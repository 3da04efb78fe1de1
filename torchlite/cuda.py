"""`torchlite.cuda`: GPU availability and device selection (all answers come from the backend)."""

from __future__ import annotations

from . import backend


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
