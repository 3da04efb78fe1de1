"""Layers for quantization-aware training, as `torch.ao.nn.qat`: the float layer with its
weight fake-quantized on every forward (the same Parameter objects as the float layer, so an
optimizer built before `prepare_qat` keeps training them)."""

from __future__ import annotations

from ...tensor import Tensor
from ..functional import conv as Fc
from ..functional.linear import linear as _linear
from ..modules.conv import Conv2d as _FloatConv2d
from ..modules.linear import Linear as _FloatLinear


def _adopt(new, mod, qconfig) -> None:
    new.weight = mod.weight
    new.bias = mod.bias
    new.qconfig = qconfig
    new.weight_fake_quant = qconfig.weight()
    new.train(mod.training)


class Linear(_FloatLinear):
    """Linear whose weight passes through `weight_fake_quant`.

    Shape: as nn.Linear.
    """

    _relu = False

    def __init__(self, in_features: int, out_features: int, bias: bool = True, qconfig=None,
                 device=None, dtype=None) -> None:
        super().__init__(in_features, out_features, bias, device, dtype)
        if qconfig is None:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input: Tensor) -> Tensor:
        out = _linear(input, self.weight_fake_quant(self.weight), self.bias)
        return out.relu() if self._relu else out

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        fused = not isinstance(mod, _FloatLinear)
        lin = mod[0] if fused else mod
        qconfig = mod.qconfig
        new = cls.__new__(cls)
        _FloatLinear.__init__(new, lin.in_features, lin.out_features, lin.bias is not None)
        _adopt(new, lin, qconfig)
        return new


class LinearReLU(Linear):
    """QAT Linear followed by ReLU, as `nn.intrinsic.qat.LinearReLU`."""

    _relu = True


class Conv2d(_FloatConv2d):
    """Conv2d whose weight passes through `weight_fake_quant`.

    Shape: as nn.Conv2d.
    """

    _relu = False

    def __init__(self, *args, qconfig=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if qconfig is None:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input: Tensor) -> Tensor:
        x, padding = self._padded(input)
        out = Fc.conv2d(x, self.weight_fake_quant(self.weight), self.bias, self.stride, padding,
                        self.dilation, self.groups)
        return out.relu() if self._relu else out

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        fused = not isinstance(mod, _FloatConv2d)
        conv = mod[0] if fused else mod
        new = cls.__new__(cls)
        _FloatConv2d.__init__(new, conv.in_channels, conv.out_channels, conv.kernel_size,
                              conv.stride, conv.padding, conv.dilation, conv.groups,
                              conv.bias is not None, conv.padding_mode)
        _adopt(new, conv, mod.qconfig)
        return new


class ConvReLU2d(Conv2d):
    """QAT Conv2d followed by ReLU, as `nn.intrinsic.qat.ConvReLU2d`."""

    _relu = True


__all__ = ["Conv2d", "ConvReLU2d", "Linear", "LinearReLU"]
