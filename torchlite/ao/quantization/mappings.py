"""Which float module becomes which observed, QAT or quantized module (PyTorch's default
mappings). Imported lazily: it names modules from every floor of torchlite.nn."""

from __future__ import annotations


def static_quant_module_mappings() -> dict:
    from ... import nn
    from ...nn import intrinsic, qat
    from ...nn import quantized as nnq
    from ...nn.intrinsic import quantized as nniq
    from .stubs import DeQuantStub, QuantStub

    return {
        QuantStub: nnq.Quantize, DeQuantStub: nnq.DeQuantize,
        nn.Linear: nnq.Linear, nn.Conv2d: nnq.Conv2d,
        intrinsic.LinearReLU: nniq.LinearReLU, intrinsic.ConvReLU2d: nniq.ConvReLU2d,
        qat.Linear: nnq.Linear, qat.Conv2d: nnq.Conv2d,
        qat.LinearReLU: nniq.LinearReLU, qat.ConvReLU2d: nniq.ConvReLU2d,
        nn.ReLU: nnq.ReLU, nn.Flatten: nnq.Flatten, nn.Dropout: nnq.Dropout,
        nn.Identity: nnq.Identity, nn.MaxPool2d: nnq.MaxPool2d, nn.AvgPool2d: nnq.AvgPool2d,
        nn.AdaptiveAvgPool2d: nnq.AdaptiveAvgPool2d,
        nnq.FloatFunctional: nnq.QFunctional,
    }


def qat_module_mappings() -> dict:
    from ... import nn
    from ...nn import intrinsic, qat

    return {nn.Linear: qat.Linear, nn.Conv2d: qat.Conv2d, intrinsic.LinearReLU: qat.LinearReLU,
            intrinsic.ConvReLU2d: qat.ConvReLU2d}


def dynamic_quant_module_mappings() -> dict:
    from ... import nn
    from ...nn.quantized import dynamic as nnqd

    return {nn.Linear: nnqd.Linear, nn.LSTM: nnqd.LSTM, nn.GRU: nnqd.GRU}


def observed_types() -> tuple:
    """Float modules whose output `prepare` observes (the output qparams of their quantized
    version); ReLU, pooling and reshapes keep their input's qparams and get none."""
    from ... import nn
    from ...nn import intrinsic, qat
    from ...nn import quantized as nnq
    from .stubs import QuantStub

    return (QuantStub, nn.Linear, nn.Conv2d, intrinsic.LinearReLU, intrinsic.ConvReLU2d,
            qat.Linear, qat.Conv2d, nnq.FloatFunctional)
