"""PyTorch's import path `torch.nn.modules.instancenorm` (the classes live in
normalization_2d.py)."""

from .normalization_2d import InstanceNorm1d, InstanceNorm2d, _InstanceNorm  # noqa: F401

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]
