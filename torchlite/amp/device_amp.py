"""`torchlite.cuda.amp` and `torchlite.cpu.amp`: autocast and GradScaler with the device fixed,
as PyTorch's older per-device spellings."""

from __future__ import annotations

from typing import Any

from .autocast_mode import autocast as _autocast
from .device_namespaces import cpu_amp, cuda_amp, fill
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


# the namespaces exist from `import torchlite` on (see device_namespaces); this fills them
fill(cuda_amp, autocast=CudaAutocast, GradScaler=CudaGradScaler)
fill(cpu_amp, autocast=CpuAutocast, GradScaler=CpuGradScaler)
