"""Utilities, as `torch.utils`: `torchlite.utils.data` has datasets, samplers, DataLoader;
`torchlite.utils.checkpoint` activation checkpointing (imported on first use)."""

from . import data

__all__ = ["checkpoint", "data"]


def __getattr__(name: str):
    if name == "checkpoint":
        import importlib

        module = importlib.import_module(".checkpoint", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'torchlite.utils' has no attribute {name!r}")
