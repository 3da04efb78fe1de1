"""QuantStub / DeQuantStub / QuantWrapper: where a model's quantized region starts and ends."""

from __future__ import annotations

from ...nn.module import Module
from ...tensor import Tensor


class QuantStub(Module):
    """Identity in the float model; observes its input, and `convert` makes it a Quantize."""

    def __init__(self, qconfig=None) -> None:
        super().__init__()
        if qconfig is not None:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class DeQuantStub(Module):
    """Identity in the float model; `convert` makes it a DeQuantize."""

    def __init__(self, qconfig=None) -> None:
        super().__init__()
        if qconfig is not None:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class QuantWrapper(Module):
    """`module` between a QuantStub and a DeQuantStub (`quant`, `module`, `dequant`)."""

    def __init__(self, module: Module) -> None:
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X: Tensor) -> Tensor:
        return self.dequant(self.module(self.quant(X)))
