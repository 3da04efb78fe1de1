"""Utilities, as `torch.utils`: `torchlite.utils.data` has datasets, samplers, DataLoader."""

from . import data

__all__ = ["data"]
