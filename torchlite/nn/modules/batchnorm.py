"""PyTorch's import path `torch.nn.modules.batchnorm`: the batch norms (defined in
normalization.py and normalization_2d.py) and the bases that code checks with isinstance."""

from .normalization import BatchNorm1d, _BatchNorm, _NormBase  # noqa: F401
from .normalization_2d import BatchNorm2d
from .normalization_3d import BatchNorm3d

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
