"""QConfig: which observers (or fake quantizers) watch a layer's activations and its weight."""

from __future__ import annotations

from collections import namedtuple

from .fake_quantize import (
    FakeQuantize,
    default_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
)
from .observer import (
    HistogramObserver,
    MovingAverageMinMaxObserver,
    default_dynamic_quant_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
)

_BACKENDS = ("x86", "fbgemm", "qnnpack", "onednn")


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """Observer factories for a layer's output (`activation`) and its `weight`."""

    __slots__ = ()


QConfigDynamic = QConfig

default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)


def _check_backend(backend: str) -> None:
    if backend not in _BACKENDS:
        raise ValueError(f"backend: {backend} not supported. backend must be one of "
                         f"{list(_BACKENDS)}")


def get_default_qconfig(backend: str = "x86", version: int = 0) -> QConfig:
    """PyTorch's post-training qconfig of a backend: histogram-observed activations (range
    halved on x86/fbgemm, whose int8 kernels need the headroom) and per-channel weights."""
    _check_backend(backend)
    if backend in ("x86", "fbgemm", "onednn"):
        return QConfig(activation=HistogramObserver.with_args(reduce_range=backend != "onednn"),
                       weight=default_per_channel_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                   weight=default_weight_observer)


def get_default_qat_qconfig(backend: str = "x86", version: int = 1) -> QConfig:
    """PyTorch's quantization-aware-training qconfig of a backend: moving-average observed
    activations over 0..255 (halved to 0..127 on x86/fbgemm, as in get_default_qconfig) and
    per-channel weights; qnnpack's weights per tensor."""
    _check_backend(backend)
    activation = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                        quant_max=255, reduce_range=backend in ("x86", "fbgemm"))
    if backend == "qnnpack":
        return QConfig(activation=activation, weight=default_weight_fake_quant)
    return QConfig(activation=activation, weight=default_per_channel_weight_fake_quant)
