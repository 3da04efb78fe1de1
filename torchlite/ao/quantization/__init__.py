"""torchlite.ao.quantization: quantized tensors, observers, qconfigs and the eager-mode flows
(quantize_dynamic, prepare/convert, prepare_qat), as `torch.ao.quantization`.

Names load on first use, so `import torchlite` (which reaches the quantized tensor functions)
does not import torchlite.nn.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "qtensor": ("QTensor", "quantize_per_tensor", "quantize_per_channel", "dequantize",
                "qscheme", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
                "per_channel_symmetric", "per_channel_affine_float_qparams"),
    "fake_quantize_ops": ("fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"),
    "observer": ("ObserverBase", "UniformQuantizationObserverBase", "MinMaxObserver",
                 "MovingAverageMinMaxObserver", "PerChannelMinMaxObserver",
                 "MovingAveragePerChannelMinMaxObserver", "HistogramObserver",
                 "PlaceholderObserver", "NoopObserver", "default_observer",
                 "default_weight_observer", "default_histogram_observer",
                 "default_per_channel_weight_observer", "default_dynamic_quant_observer",
                 "default_placeholder_observer"),
    "fake_quantize": ("FakeQuantizeBase", "FakeQuantize", "default_fake_quant",
                      "default_weight_fake_quant", "default_per_channel_weight_fake_quant",
                      "disable_fake_quant", "enable_fake_quant", "disable_observer",
                      "enable_observer"),
    "qconfig": ("QConfig", "QConfigDynamic", "default_qconfig", "default_dynamic_qconfig",
                "per_channel_dynamic_qconfig", "default_qat_qconfig", "get_default_qconfig",
                "get_default_qat_qconfig"),
    "stubs": ("QuantStub", "DeQuantStub", "QuantWrapper"),
    "fuse_modules": ("fuse_modules", "fuse_modules_qat", "fuse_conv_bn_weights"),
    "quantize": ("quantize_dynamic", "prepare", "convert", "prepare_qat", "quantize",
                 "quantize_qat", "propagate_qconfig_"),
}
_WHERE = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        if name in _NAMES or name in ("int8_matmul", "mappings"):
            return importlib.import_module(f".{name}", __name__)
        raise AttributeError(f"module 'torchlite.ao.quantization' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
