"""Quantized fused layers, as `torch.ao.nn.intrinsic.quantized`."""

from ...quantized.modules.conv import ConvReLU2d
from ...quantized.modules.linear import LinearReLU

__all__ = ["ConvReLU2d", "LinearReLU"]
