"""PyTorch's import path `torch.nn.modules.instancenorm` (the classes live in
normalization_2d.py)."""

from .normalization_2d import InstanceNorm1d, InstanceNorm2d, _InstanceNorm  # noqa: F401
from .normalization_3d import InstanceNorm3d

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
