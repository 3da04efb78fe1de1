"""Layers that keep their input's quantization: ReLU, Flatten, Dropout, Identity and pooling.

PyTorch runs its float modules of these on quantized tensors; here `convert` swaps them for
these modules, which work on the integers (max pooling and ReLU are exact on them, average
pooling rounds back to the input's grid).
"""

from __future__ import annotations

import numpy as np

from .... import backend
from ....ao.quantization.qtensor import QTensor, quantize_array
from ....autograd.grad_mode import no_grad
from ....tensor import Tensor
from ...functional import pooling as Fp
from ...module import Module
from .base import check_quantized


class _KeepQParams(Module):
    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        out = cls.__new__(cls)
        Module.__init__(out)
        out.__dict__.update({k: v for k, v in mod.__dict__.items() if not k.startswith("_")})
        out.training = mod.training
        return out


class ReLU(_KeepQParams):
    """max(x, 0) on a quantized tensor: max(q, zero_point), same scale and zero point."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: QTensor) -> QTensor:
        x = check_quantized(x, self)
        xp = backend.get_xp(x._data)
        return x._like(xp.maximum(x._data, x._data.dtype.type(x._zero_point)))


class Flatten(_KeepQParams):
    """Flatten dimensions start_dim..end_dim of a quantized tensor."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: QTensor) -> QTensor:
        return check_quantized(x, self).flatten(self.start_dim, self.end_dim)


class Dropout(_KeepQParams):
    """Dropout of a converted (inference) model: the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return x


class Identity(_KeepQParams):
    def forward(self, x):
        return x


class MaxPool2d(_KeepQParams):
    """Max pooling of a quantized tensor (on the integers: exact)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x: QTensor) -> QTensor:
        x = check_quantized(x, self)
        with no_grad():
            out = Fp.max_pool2d(Tensor._make(x._data, x.device), self.kernel_size, self.stride,
                                self.padding, self.dilation, self.ceil_mode)
        return x._like(out._data)


class _AvgPool(_KeepQParams):
    def _pool(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: QTensor) -> QTensor:
        x = check_quantized(x, self)
        with no_grad():
            # integers minus the zero point: the mean is then in units of scale
            a = x._data.astype(np.float32) - np.float32(x._zero_point)
            out = self._pool(Tensor._make(a, x.device))._data
        xp = backend.get_xp(out)
        return x._like(quantize_array(xp, out, np.float32(1), np.float32(x._zero_point),
                                      x.dtype))


class AvgPool2d(_AvgPool):
    """Average pooling of a quantized tensor, rounded back to the input's grid."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def _pool(self, t: Tensor) -> Tensor:
        return Fp.avg_pool2d(t, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool2d(_AvgPool):
    """Adaptive average pooling of a quantized tensor, rounded back to the input's grid."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def _pool(self, t: Tensor) -> Tensor:
        from ...functional import adaptive_avg_pool2d

        return adaptive_avg_pool2d(t, self.output_size)
