"""Normalisation layers for images: BatchNorm2d, InstanceNorm1d, InstanceNorm2d,
LocalResponseNorm."""

from __future__ import annotations

from ...tensor import Tensor
from ..functional.instance_norm import instance_norm
from ..module import Module
from .normalization import _BatchNorm, _NormBase

__all__ = ["BatchNorm2d", "InstanceNorm1d", "InstanceNorm2d", "LocalResponseNorm"]


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, H, W) for each channel. Shape: (N, C, H, W) -> same.

    Training normalises with the batch mean and biased variance and updates running_mean and
    running_var (unbiased variance) by `momentum`; eval mode uses the running statistics.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class _InstanceNorm(_NormBase):
    _batched_ndim = 4

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        nd = self._batched_ndim
        if input.dim() not in (nd - 1, nd):
            raise ValueError(f"expected {nd - 1}D or {nd}D input (got {input.dim()}D input)")
        unbatched = input.dim() == nd - 1
        if unbatched:
            input = input.unsqueeze(0)
        if self.affine and input.shape[1] != self.num_features:
            raise ValueError(f"expected input's size at dim=1 to match num_features "
                             f"({self.num_features}), but got: {input.shape[1]}.")
        out = instance_norm(
            input, self.running_mean, self.running_var, self.weight, self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0, self.eps,
        )
        return out.squeeze(0) if unbatched else out


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation: each (sample, channel) plane normalised over its H*W positions.

    Shape: (N, C, H, W) or (C, H, W) -> same. affine=False and track_running_stats=False by
    default, as PyTorch.
    """

    _batched_ndim = 4


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation over L for each (sample, channel). Shape: (N, C, L) or (C, L)."""

    _batched_ndim = 3


class LocalResponseNorm(Module):
    """Normalise each position by its neighbouring channels (AlexNet's layer):
    x / (k + alpha / size * sum of x^2 over `size` channels)^beta. Shape: (N, C, *) -> same."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        from ..functional.normalization import local_response_norm

        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
