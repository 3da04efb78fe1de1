"""Quantized Linear (and its fused LinearReLU): quint8 in, int8 weight, quint8 out."""

from __future__ import annotations

from .... import backend
from .base import QuantizedOutput, check_quantized, output_qparams, weight_observer_for
from .linear_kernels import static_linear
from .packed_params import PackedParams, PackedWeightLayer, quantize_weight


class Linear(PackedWeightLayer, QuantizedOutput):
    """A quantized `nn.Linear`, as `torch.ao.nn.quantized.Linear`.

    Shape: input (*, in_features) quint8, output (*, out_features) quint8.
    """

    _FLOAT_MODULE: tuple = ()
    _relu = False

    def __init__(self, in_features: int, out_features: int, bias_: bool = True,
                 dtype=backend.qint8, per_channel: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._set_packed(PackedParams((out_features, in_features), per_channel,
                                       bias_, dtype))

    def forward(self, x):
        x = check_quantized(x, self)
        if x.shape[-1] != self.in_features:
            raise RuntimeError(f"{type(self).__name__}: input has {x.shape[-1]} features, "
                               f"expected {self.in_features}")
        s, z = self.out_qparams
        q = static_linear(x._data, x._scale, x._zero_point, self._packed_params, s, z,
                          self._relu)
        return self._wrap(q, x)

    def _get_name(self) -> str:
        return "Quantized" + type(self).__name__

    def extra_repr(self) -> str:
        w = self._packed_params
        scheme = "per_tensor_affine" if w.axis is None else "per_channel_affine"
        s, z = self.out_qparams
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"scale={s}, zero_point={z}, qscheme=torchlite.{scheme}")

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        """The quantized layer of an observed float (or QAT) Linear."""
        float_linear = mod[0] if _is_fused(mod) else mod
        obs = weight_observer_for(float_linear)
        qw = quantize_weight(float_linear.weight, obs)
        out = cls(float_linear.in_features, float_linear.out_features,
                  float_linear.bias is not None, obs.dtype, qw._axis is not None)
        out.set_weight_bias(qw, float_linear.bias)
        out._set_output(*output_qparams(mod))
        return out

    @classmethod
    def from_reference(cls, ref, output_scale: float, output_zero_point: int):
        raise NotImplementedError("reference modules are not supported by torchlite")


def _is_fused(mod) -> bool:
    from ...intrinsic import LinearReLU as FusedLinearReLU

    return isinstance(mod, FusedLinearReLU)


class LinearReLU(Linear):
    """Quantized Linear followed by ReLU in one step, as `nn.intrinsic.quantized.LinearReLU`."""

    _relu = True

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        return super().from_float(mod)
