"""`torchlite.backends.cudnn`: the flags `torch.backends.cudnn` has, without cuDNN.

torchlite does not use cuDNN (GPU convolutions are im2col matrix products through cuBLAS), so
`is_available()` is False and the flags change nothing; they are checked (booleans only, as in
PyTorch) and read back, so `cudnn.deterministic = True; cudnn.benchmark = False` runs.
"""

from __future__ import annotations

import contextlib
import sys
import types

# (and the flags enabled, benchmark, deterministic, allow_tf32: properties of the module)
__all__ = ["is_available", "version", "flags", "is_acceptable", "benchmark_limit"]

_FLAGS = {"enabled": True, "benchmark": False, "deterministic": False, "allow_tf32": True}
benchmark_limit = 10


def is_available() -> bool:
    """False: torchlite has no cuDNN code path."""
    return False


def version():
    """None, as PyTorch without cuDNN."""
    return None


def is_acceptable(tensor) -> bool:
    return False


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True):
    """Set the flags for the body of a `with` block, then restore them."""
    mod = sys.modules[__name__]
    saved = dict(_FLAGS), mod.benchmark_limit
    try:
        mod.enabled, mod.benchmark, mod.deterministic, mod.allow_tf32 = (
            enabled, benchmark, deterministic, allow_tf32)
        mod.benchmark_limit = benchmark_limit
        yield
    finally:
        _FLAGS.update(saved[0])
        mod.benchmark_limit = saved[1]


def _flag(name: str) -> property:
    def get(self) -> bool:
        return _FLAGS[name]

    def set_(self, value) -> None:
        if not isinstance(value, bool):
            raise RuntimeError(f"set_{name}_cudnn expects a bool, but got "
                               f"{type(value).__name__}")
        _FLAGS[name] = value

    return property(get, set_)


class _CudnnModule(types.ModuleType):
    # module attributes with checked assignment, as PyTorch's CudnnModule
    enabled = _flag("enabled")
    benchmark = _flag("benchmark")
    deterministic = _flag("deterministic")
    allow_tf32 = _flag("allow_tf32")


sys.modules[__name__].__class__ = _CudnnModule
