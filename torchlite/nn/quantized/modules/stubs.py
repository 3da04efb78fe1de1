"""Quantize and DeQuantize: the converted QuantStub and DeQuantStub."""

from __future__ import annotations

import numpy as np

from .... import backend
from ....ao.quantization.qtensor import QTensor, quantize_per_tensor
from ....tensor import Tensor
from .base import QuantizedOutput, output_qparams


class Quantize(QuantizedOutput):
    """float -> quint8 with a fixed scale and zero point, as `nn.quantized.Quantize`.

    Shape: any; output like the input.
    """

    def __init__(self, scale: float, zero_point: int, dtype=backend.quint8) -> None:
        super().__init__(scale, zero_point)
        self.dtype = backend.to_dtype(dtype)

    def forward(self, x: Tensor) -> QTensor:
        if isinstance(x, QTensor):
            return x
        s, z = self.out_qparams
        return quantize_per_tensor(x, s, z, self.dtype)

    def extra_repr(self) -> str:
        s, z = self.out_qparams
        scale, zp = Tensor._make(np.array([s], np.float32), backend.CPU), \
            Tensor._make(np.array([z], np.int64), backend.CPU)
        return f"scale={scale!r}, zero_point={zp!r}, dtype={self.dtype}"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        s, z = output_qparams(mod)
        return cls(s, z, mod.activation_post_process.dtype)


class DeQuantize(QuantizedOutput):
    """quantized -> float32, as `nn.quantized.DeQuantize`."""

    def __init__(self) -> None:
        super(QuantizedOutput, self).__init__()

    def forward(self, x):
        return x.dequantize()

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        return cls()
