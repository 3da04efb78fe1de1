"""Dynamically quantized Linear: float in and out, int8 weight, the input quantized per call."""

from __future__ import annotations

from .... import backend
from ....tensor import Tensor
from ..modules.base import weight_observer_for
from ..modules.linear_kernels import dynamic_linear
from ..modules.packed_params import PackedParams, PackedWeightLayer, quantize_weight
from .chain import run_chain


class Linear(PackedWeightLayer):
    """A dynamically quantized `nn.Linear`, as `torch.ao.nn.quantized.dynamic.Linear`.

    Shape: input (*, in_features) float32 -> (*, out_features) float32. Each call quantizes
    its input to quint8 from the input's own range (0..127, PyTorch's fbgemm/x86 setting).
    """

    def __init__(self, in_features: int, out_features: int, bias_: bool = True,
                 dtype=backend.qint8, per_channel: bool = False,
                 reduce_range: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.reduce_range = reduce_range
        self._set_packed(PackedParams((out_features, in_features), per_channel,
                                       bias_, dtype))

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise RuntimeError(f"dynamic quantized Linear expects a float Tensor input, got "
                               f"{getattr(x, 'dtype', type(x).__name__)}")
        if x.shape[-1] != self.in_features:
            raise RuntimeError(f"dynamic quantized Linear: input has {x.shape[-1]} features, "
                               f"expected {self.in_features}")
        out = dynamic_linear(x._data, self._packed_params, self.reduce_range)
        return Tensor._make(out, x.device)

    @classmethod
    def _sequential_run(cls, modules: tuple, i: int, input):
        """In a Sequential, this layer and the ReLUs and dynamic Linears after it run as one
        onnxruntime call where they can (see chain.py)."""
        return run_chain(cls, modules, i, input)

    def _get_name(self) -> str:
        return "DynamicQuantizedLinear"

    def extra_repr(self) -> str:
        scheme = "per_tensor_affine" if self._packed_params.axis is None else \
            "per_channel_affine"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dtype={self._packed_params.qdtype}, qscheme=torchlite.{scheme}")

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        """The dynamically quantized layer of a float Linear (its qconfig's weight observer,
        default per-tensor symmetric int8)."""
        float_linear = mod[0] if hasattr(mod, "__getitem__") else mod
        obs = weight_observer_for(float_linear)
        qw = quantize_weight(float_linear.weight, obs)
        out = cls(float_linear.in_features, float_linear.out_features,
                  float_linear.bias is not None, obs.dtype, qw._axis is not None)
        out.set_weight_bias(qw, float_linear.bias)
        return out
