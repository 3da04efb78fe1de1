"""Quantized modules (quint8 activations, int8 weights), as `torch.ao.nn.quantized`."""

from .conv import Conv2d
from .elementwise import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Dropout,
    Flatten,
    Identity,
    MaxPool2d,
    ReLU,
)
from .functional_modules import FloatFunctional, QFunctional
from .linear import Linear
from .stubs import DeQuantize, Quantize

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "Conv2d", "DeQuantize", "Dropout", "Flatten",
           "FloatFunctional", "Identity", "Linear", "MaxPool2d", "QFunctional", "Quantize",
           "ReLU"]
