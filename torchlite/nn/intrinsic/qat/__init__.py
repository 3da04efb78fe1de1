"""Fused layers for quantization-aware training, as `torch.ao.nn.intrinsic.qat`."""

from ...qat import ConvReLU2d, LinearReLU

__all__ = ["ConvReLU2d", "LinearReLU"]
