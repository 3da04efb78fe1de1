"""What quantized layers with a weight share: the packed weight, output qparams, and building
themselves from an observed float layer (`from_float`)."""

from __future__ import annotations

import numpy as np

from .... import backend
from ....ao.quantization.qtensor import QTensor, quantize_per_tensor
from ....tensor import Tensor
from ...module import Module
from .packed_params import quantize_weight


def _scalar_buffer(value, dtype) -> Tensor:
    return Tensor._make(np.array(value, dtype), backend.CPU)


def output_qparams(mod: Module) -> tuple[float, int]:
    """The scale and zero point the observer after `mod` computed."""
    obs = getattr(mod, "activation_post_process", None)
    if obs is None:
        raise RuntimeError(f"{type(mod).__name__} has no activation_post_process: run prepare "
                           "(and calibration) before convert")
    scale, zp = obs.calculate_qparams()
    return float(scale._data.reshape(-1)[0]), int(zp._data.reshape(-1)[0])


def weight_observer_for(mod: Module):
    """The float layer's weight observer, run over its weight (a QAT layer's fake quantizer
    already has its qparams; run it once more only if it never saw the weight)."""
    fq = getattr(mod, "weight_fake_quant", None)
    if fq is not None:
        fq(mod.weight)
        return fq
    from ....ao.quantization.qconfig import default_dynamic_qconfig

    qconfig = getattr(mod, "qconfig", None) or default_dynamic_qconfig
    obs = qconfig.weight()
    obs(mod.weight)
    return obs


class QuantizedOutput(Module):
    """A layer whose output is quantized with `scale` and `zero_point` (buffers)."""

    def __init__(self, scale: float = 1.0, zero_point: int = 0) -> None:
        super().__init__()
        self.register_buffer("scale", _scalar_buffer(scale, np.float64))
        self.register_buffer("zero_point", _scalar_buffer(zero_point, np.int64))

    def _set_output(self, scale: float, zp: int) -> None:
        self.scale._data[...] = scale
        self.zero_point._data[...] = zp

    @property
    def out_qparams(self) -> tuple[float, int]:
        return float(self.scale._data), int(self.zero_point._data)

    def _wrap(self, arr, like: QTensor) -> QTensor:
        from ....ao.quantization.qtensor import per_tensor_affine

        s, z = self.out_qparams
        return QTensor._wrap(arr, like.device, backend.quint8, per_tensor_affine, s, z)


def check_quantized(x, layer: Module) -> QTensor:
    if not isinstance(x, QTensor):
        raise RuntimeError(f"{type(layer).__name__} (quantized) expects a quantized input; "
                           "put a QuantStub before it in the float model (or quantize_per_tensor"
                           f" the input), got a {type(x).__name__} of {getattr(x, 'dtype', '')}")
    if x._axis is not None:
        raise RuntimeError(f"{type(layer).__name__} (quantized): expected a per-tensor "
                           "quantized input")
    return x


__all__ = ["QuantizedOutput", "check_quantized", "output_qparams", "quantize_per_tensor",
           "quantize_weight", "weight_observer_for"]
