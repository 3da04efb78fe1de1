"""FakeQuantize modules for quantization-aware training, as PyTorch's.

A FakeQuantize observes what flows through it (its `activation_post_process` observer) and
rounds it to the grid of the scale and zero point it computed, in float, so training sees the
quantization error; gradients pass straight through inside the grid's range.
"""

from __future__ import annotations

import numpy as np

from ... import backend
from ...nn.module import Module
from ...tensor import Tensor
from .fake_quantize_ops import fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine
from .observer import (
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    _with_args,
)
from .qtensor import per_channel_affine, per_channel_symmetric, per_tensor_symmetric

_PER_CHANNEL = (per_channel_affine, per_channel_symmetric)


def _flag(value: int) -> Tensor:
    return Tensor._make(np.array([value], np.uint8), backend.CPU)


class FakeQuantizeBase(Module):
    """Switches shared by fake quantizers: observing and fake-quantizing, each on or off."""

    with_args = classmethod(_with_args)

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("fake_quant_enabled", _flag(1))
        self.register_buffer("observer_enabled", _flag(1))

    def enable_fake_quant(self, enabled: bool = True) -> None:
        self.fake_quant_enabled._data[0] = 1 if enabled else 0

    def disable_fake_quant(self) -> None:
        self.enable_fake_quant(False)

    def enable_observer(self, enabled: bool = True) -> None:
        self.observer_enabled._data[0] = 1 if enabled else 0

    def disable_observer(self) -> None:
        self.enable_observer(False)


class FakeQuantize(FakeQuantizeBase):
    """Observe, then quantize and dequantize, as `torch.ao.quantization.FakeQuantize`.

    Shape: any; output like the input.
    """

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=None, quant_max=None,
                 is_dynamic: bool = False, **observer_kwargs) -> None:
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise ValueError("quant_min must be less than or equal to quant_max")
            observer_kwargs.update(quant_min=quant_min, quant_max=quant_max)
        self.activation_post_process = observer(is_dynamic=is_dynamic, **observer_kwargs)
        obs = self.activation_post_process
        self.quant_min, self.quant_max = obs.quant_min, obs.quant_max
        self.dtype, self.qscheme = obs.dtype, obs.qscheme
        self.ch_axis = getattr(obs, "ch_axis", -1)
        self.is_per_channel = self.qscheme in _PER_CHANNEL
        self.register_buffer("scale", Tensor._make(np.array([1.0], np.float32), backend.CPU))
        self.register_buffer("zero_point", Tensor._make(np.array([0], np.int32), backend.CPU))

    def calculate_qparams(self):
        return self.activation_post_process.calculate_qparams()

    def forward(self, X: Tensor) -> Tensor:
        if self.observer_enabled._data[0]:
            self.activation_post_process(X.detach())
            scale, zp = self.calculate_qparams()
            self.scale._data = scale._data.astype(np.float32)
            self.zero_point._data = zp._data.astype(np.int32)
        if self.fake_quant_enabled._data[0]:
            if self.is_per_channel:
                return fake_quantize_per_channel_affine(X, self.scale, self.zero_point,
                                                        self.ch_axis, self.quant_min,
                                                        self.quant_max)
            return fake_quantize_per_tensor_affine(X, self.scale, self.zero_point,
                                                   self.quant_min, self.quant_max)
        return X

    def extra_repr(self) -> str:
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, quant_min={self.quant_min}, "
                f"quant_max={self.quant_max}, dtype={self.dtype}, qscheme={self.qscheme}, "
                f"ch_axis={self.ch_axis}, scale={self.scale}, zero_point={self.zero_point}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # per-channel qparams change length once observed: take the stored ones as they are
        for name in ("scale", "zero_point"):
            key = prefix + name
            if key in state_dict:
                v = state_dict[key]
                getattr(self, name)._data = np.array(
                    backend.to_host(v._data if isinstance(v, Tensor) else v),
                    getattr(self, name)._data.dtype).reshape(-1)
        rest = {k: v for k, v in state_dict.items()
                if k not in (prefix + "scale", prefix + "zero_point")}
        super()._load_from_state_dict(rest, prefix, local_metadata, strict, [],
                                      unexpected_keys, error_msgs)


def _set(attr: str, value=None):
    def fn(mod: Module) -> None:
        if isinstance(mod, FakeQuantizeBase):
            getattr(mod, attr)() if value is None else getattr(mod, attr)(value)
    return fn


def disable_fake_quant(mod: Module) -> None:
    """For `model.apply`: turn fake quantization off in every FakeQuantize."""
    _set("disable_fake_quant")(mod)


def enable_fake_quant(mod: Module) -> None:
    _set("enable_fake_quant")(mod)


def disable_observer(mod: Module) -> None:
    """For `model.apply`: freeze every FakeQuantize's scale and zero point."""
    _set("disable_observer")(mod)


def enable_observer(mod: Module) -> None:
    _set("enable_observer")(mod)


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=backend.quint8,
    reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=backend.qint8,
    qscheme=per_tensor_symmetric)
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=backend.qint8, qscheme=per_channel_symmetric, ch_axis=0)
