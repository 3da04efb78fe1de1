"""`torchlite.cpu`, as torch.cpu: the CPU's autocast (`torchlite.cpu.amp.autocast`)."""

from __future__ import annotations

from .amp.device_amp import cpu_amp as amp


def is_available() -> bool:
    """Always True, as PyTorch's."""
    return True


def device_count() -> int:
    """1, as PyTorch's."""
    return 1


__all__ = ["amp", "device_count", "is_available"]
