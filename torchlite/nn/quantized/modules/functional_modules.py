"""FloatFunctional and QFunctional: tensor arithmetic (add, mul, cat) as modules, so static
quantization can observe their outputs (float) and requantize them (quantized)."""

from __future__ import annotations

from .... import backend
from ....ao.quantization.qtensor import QTensor, quantize_per_tensor
from ....ops.join import cat as _cat
from ....ops.unary import relu as _relu
from ....tensor import Tensor
from ...module import Module
from ..modules.base import QuantizedOutput, output_qparams


class FloatFunctional(Module):
    """add / add_relu / mul / add_scalar / mul_scalar / cat on float tensors, each output
    passed through `activation_post_process` (an observer after `prepare`)."""

    def __init__(self) -> None:
        super().__init__()
        from ...modules.linear import Identity

        self.activation_post_process = Identity()

    def forward(self, x):
        raise RuntimeError("FloatFunctional is not intended to use the 'forward'. Please use "
                           "the underlying operation")

    def add(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(x + y)

    def add_scalar(self, x: Tensor, y: float) -> Tensor:
        return x + y  # PyTorch observes no output here: the scalar keeps x's qparams

    def mul(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(x * y)

    def mul_scalar(self, x: Tensor, y: float) -> Tensor:
        return x * y

    def cat(self, x, dim: int = 0) -> Tensor:
        return self.activation_post_process(_cat(x, dim=dim))

    def add_relu(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(_relu(x + y))


class QFunctional(QuantizedOutput):
    """The quantized FloatFunctional: dequantize, compute, requantize to (scale, zero_point)."""

    def __init__(self) -> None:
        super().__init__()
        from ...modules.linear import Identity

        self.activation_post_process = Identity()

    def forward(self, x):
        raise RuntimeError("Functional is not intended to use the 'forward'. Please use the "
                           "underlying operation")

    def _out(self, t: Tensor) -> QTensor:
        s, z = self.out_qparams
        return quantize_per_tensor(t, s, z, backend.quint8)

    def add(self, x: QTensor, y: QTensor) -> QTensor:
        return self._out(x.dequantize() + y.dequantize())

    def add_relu(self, x: QTensor, y: QTensor) -> QTensor:
        return self._out(_relu(x.dequantize() + y.dequantize()))

    def mul(self, x: QTensor, y: QTensor) -> QTensor:
        return self._out(x.dequantize() * y.dequantize())

    def cat(self, x, dim: int = 0) -> QTensor:
        return self._out(_cat([t.dequantize() for t in x], dim=dim))

    def add_scalar(self, x: QTensor, y: float) -> QTensor:
        return quantize_per_tensor(x.dequantize() + y, x.q_scale(), x.q_zero_point(), x.dtype)

    def mul_scalar(self, x: QTensor, y: float) -> QTensor:
        return quantize_per_tensor(x.dequantize() * y, x.q_scale(), x.q_zero_point(), x.dtype)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        out = cls()
        out._set_output(*output_qparams(mod))
        return out
