"""`torchlite.backends.mps`: Apple's Metal backend, which torchlite does not have."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: torchlite runs on the CPU (NumPy) and NVIDIA GPUs (CuPy) only."""
    return False


def is_built() -> bool:
    """False: torchlite has no MPS backend to build."""
    return False
