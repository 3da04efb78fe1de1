"""Normalisation layers for volumes (the 3-D convolutions' companions): BatchNorm3d and
InstanceNorm3d, the 2-D layers' arithmetic over (D, H, W)."""

from __future__ import annotations

from ...tensor import Tensor
from .normalization import _BatchNorm
from .normalization_2d import _InstanceNorm

__all__ = ["BatchNorm3d", "InstanceNorm3d"]


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, D, H, W) for each channel. Shape: (N, C, D, H, W) -> same.

    Statistics, running averages and eval mode as BatchNorm2d.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation: each (sample, channel) volume normalised over its D*H*W
    positions. Shape: (N, C, D, H, W) or (C, D, H, W) -> same."""

    _batched_ndim = 5
