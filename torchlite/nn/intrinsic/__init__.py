"""Fused float modules (layers that quantization treats as one), as `torch.ao.nn.intrinsic`.

Each is a Sequential of its parts, so it runs as the layers it replaced; `convert` turns it into
the one quantized layer (`nn.intrinsic.quantized`).
"""

from __future__ import annotations

from ..modules.container import Sequential


class _FusedModule(Sequential):
    pass


class LinearReLU(_FusedModule):
    """Linear then ReLU."""

    def __init__(self, linear, relu) -> None:
        super().__init__(linear, relu)


class ConvReLU2d(_FusedModule):
    """Conv2d then ReLU."""

    def __init__(self, conv, relu) -> None:
        super().__init__(conv, relu)


class ConvBn2d(_FusedModule):
    """Conv2d then BatchNorm2d (for quantization-aware training; eval fusion folds the batch
    norm into the convolution instead)."""

    def __init__(self, conv, bn) -> None:
        super().__init__(conv, bn)


class ConvBnReLU2d(_FusedModule):
    """Conv2d, BatchNorm2d, ReLU."""

    def __init__(self, conv, bn, relu) -> None:
        super().__init__(conv, bn, relu)


__all__ = ["ConvBn2d", "ConvBnReLU2d", "ConvReLU2d", "LinearReLU"]


def __getattr__(name: str):
    if name in ("qat", "quantized"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'torchlite.nn.intrinsic' has no attribute {name!r}")
