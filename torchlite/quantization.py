"""torchlite.quantization: the old name of torchlite.ao.quantization, as `torch.quantization`."""

from __future__ import annotations

from .ao import quantization as _q


def __getattr__(name: str):
    return getattr(_q, name)


def __dir__():
    return dir(_q)
