"""`torchlite.cuda.amp` and `torchlite.cpu.amp`: autocast and GradScaler with the device fixed,
as PyTorch's older per-device spellings."""

from __future__ import annotations

import sys
import types
from typing import Any

from .. import cuda as _cuda
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


class CudaAutocast(_autocast):
    """`torchlite.autocast("cuda", ...)`: float16 by default."""

    def __init__(self, enabled: bool = True, dtype: Any = "float16",
                 cache_enabled: bool = True) -> None:
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class CpuAutocast(_autocast):
    """`torchlite.autocast("cpu", ...)`: bfloat16 by default."""

    def __init__(self, enabled: bool = True, dtype: Any = "bfloat16",
                 cache_enabled: bool = True) -> None:
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class CudaGradScaler(_GradScaler):
    """`torchlite.amp.GradScaler("cuda", ...)`."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


class CpuGradScaler(_GradScaler):
    """`torchlite.amp.GradScaler("cpu", ...)`."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


def _module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name, f"{name}: autocast and GradScaler for one device type.")
    m.__dict__.update(attrs)
    m.__all__ = sorted(attrs)  # type: ignore[attr-defined]
    sys.modules[name] = m  # so `from torchlite.cuda.amp import GradScaler` imports
    return m


cuda_amp = _module("torchlite.cuda.amp", autocast=CudaAutocast, GradScaler=CudaGradScaler)
cpu_amp = _module("torchlite.cpu.amp", autocast=CpuAutocast, GradScaler=CpuGradScaler)
_cuda.amp = cuda_amp  # type: ignore[attr-defined]  # torchlite.cuda.amp, as torch.cuda.amp
