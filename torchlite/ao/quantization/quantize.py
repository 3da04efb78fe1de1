"""The eager-mode quantization flows, as `torch.ao.quantization`: `quantize_dynamic`,
`prepare` / calibrate / `convert` (static), `prepare_qat` / train / `convert` (QAT)."""

from __future__ import annotations

import copy

from ... import backend
from ...nn.module import Module
from . import mappings as M
from .qconfig import default_dynamic_qconfig, per_channel_dynamic_qconfig


def propagate_qconfig_(module: Module, qconfig_dict: dict | None = None) -> None:
    """Give every submodule the qconfig of its nearest configured ancestor (`qconfig_dict`
    maps module types or qualified names to qconfigs; None turns a subtree off)."""
    qconfig_dict = qconfig_dict or {}

    def visit(mod: Module, name: str, inherited) -> None:
        qconfig = qconfig_dict.get(type(mod), inherited)
        qconfig = qconfig_dict.get(name, qconfig)
        qconfig = getattr(mod, "qconfig", qconfig) if "qconfig" in mod.__dict__ else qconfig
        mod.qconfig = qconfig
        for child_name, child in mod.named_children():
            visit(child, f"{name}.{child_name}" if name else child_name, qconfig)

    visit(module, "", None)


def _observer_hook(mod, inputs, output):
    return mod.activation_post_process(output)


def _add_observers(module: Module) -> None:
    observed = M.observed_types()
    from ...nn.quantized import FloatFunctional

    for child in list(module.children()):
        _add_observers(child)
    qconfig = getattr(module, "qconfig", None)
    if qconfig is None or not isinstance(module, observed):
        return
    module.activation_post_process = qconfig.activation()
    if not isinstance(module, FloatFunctional):  # that one calls its observer per operation
        module.register_forward_hook(_observer_hook)


def _is_fused(module: Module) -> bool:
    from ...nn.intrinsic import _FusedModule

    return isinstance(module, _FusedModule)


def prepare(model: Module, inplace: bool = False, allow_list=None,
            observer_non_leaf_module_list=None, prepare_custom_config_dict=None) -> Module:
    """Insert observers (from each module's `qconfig`) after the layers that static
    quantization requantizes; run calibration data through the result, then `convert`."""
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    _add_observers(model)
    return model


def _swap(module: Module, mapping: dict) -> Module:
    cls = mapping.get(type(module))
    if cls is None or getattr(module, "qconfig", None) is None:
        return module
    new = cls.from_float(module)
    new.train(module.training)
    return new


def convert(module: Module, mapping: dict | None = None, inplace: bool = False,
            remove_qconfig: bool = True, is_reference: bool = False,
            convert_custom_config_dict=None, use_precomputed_fake_quant: bool = False
            ) -> Module:
    """Swap every observed (or QAT) module with a qconfig for its quantized version, using
    the qparams its observers computed. Modules with no mapping stay as they are."""
    if is_reference:
        raise NotImplementedError("reference quantized modules are not supported by torchlite")
    if not inplace:
        module = copy.deepcopy(module)
    mapping = M.static_quant_module_mappings() if mapping is None else mapping
    _convert(module, mapping)
    if remove_qconfig:
        _remove_qconfig(module)
    return module


def _convert(module: Module, mapping: dict) -> None:
    for name, child in list(module.named_children()):
        if not (_is_fused(child) and type(child) in mapping):  # a fused one swaps whole
            _convert(child, mapping)
        setattr(module, name, _swap(child, mapping))


def _remove_qconfig(module: Module) -> None:
    for child in module.children():
        _remove_qconfig(child)
    module.__dict__.pop("qconfig", None)


def prepare_qat(model: Module, mapping: dict | None = None, inplace: bool = False) -> Module:
    """Swap Linear / Conv2d (and fused ones) for their QAT versions, whose weights are
    fake-quantized, and add FakeQuantize after them (from each module's `qconfig`); train the
    result as usual, then `convert`. The QAT layers share the float layers' Parameters."""
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    _convert(model, M.qat_module_mappings() if mapping is None else mapping)
    return prepare(model, inplace=True)


def quantize_dynamic(model: Module, qconfig_spec=None, dtype=backend.qint8, mapping=None,
                     inplace: bool = False) -> Module:
    """Replace Linear / LSTM / GRU layers (those `qconfig_spec` names) by dynamically quantized
    ones: int8 weights, activations quantized on the fly per call.

    qconfig_spec: a set of module types, or a dict of types / qualified names to qconfigs;
    None means every Linear, LSTM and GRU.
    """
    dtype = backend.to_dtype(dtype)
    if dtype is not backend.qint8:
        raise ValueError(f"quantize_dynamic: torchlite supports dtype=torchlite.qint8 only, got "
                         f"{dtype}")
    mapping = M.dynamic_quant_module_mappings() if mapping is None else mapping
    if qconfig_spec is None:
        qconfig_spec = set(mapping)
    if isinstance(qconfig_spec, (set, frozenset, list, tuple)):
        qconfig_spec = dict.fromkeys(qconfig_spec, default_dynamic_qconfig)
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    _convert(model, mapping)
    _remove_qconfig(model)
    return model


def quantize(model: Module, run_fn, run_args, mapping=None, inplace: bool = False) -> Module:
    """prepare, `run_fn(model, *run_args)` to calibrate, convert: static quantization in one
    call (the model needs its `qconfig` set)."""
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, mapping, inplace=True)
    return model


def quantize_qat(model: Module, run_fn, run_args, inplace: bool = False) -> Module:
    """prepare_qat, `run_fn(model, *run_args)` to train, convert."""
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, inplace=True)
    return model


__all__ = ["convert", "per_channel_dynamic_qconfig", "prepare", "prepare_qat",
           "propagate_qconfig_", "quantize", "quantize_dynamic", "quantize_qat"]
