"""`torchlite quantize`: a trained run's model to int8, evaluated before and after.

dynamic: Linear/LSTM/GRU weights int8, activations quantized per batch (no data needed).
static: Conv2d+ReLU and Linear+ReLU fused, observers calibrated on the training split (with
the stored preprocessing), every layer quantized between a QuantStub and a DeQuantStub.
qat: the static layout, reached by a few epochs of quantization-aware fine-tuning of the trained
weights (qat_finetune.py) instead of calibration alone.

The quantized checkpoint is the float checkpoint's metadata plus a `quantization` entry (mode,
per_channel); its tensors are each quantized layer's int8 weight, scales, zero points and float
bias (see nn.quantized.modules.packed_params). `apply_quantization` rebuilds that structure on
the float model the stored config describes, so eval, infer and summary load it like any
checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import torchlite
from torchlite import nn

from .loader import UsageError

QUANTIZED_NAME = "quantized.safetensors"
MODES = ("dynamic", "static", "qat")

# layers static quantization runs on integers (plus the fused pairs made from them)
_STATIC_OK = ("Linear", "Conv2d", "ReLU", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
              "Flatten", "Dropout", "Identity")


def _leaves(model) -> list[tuple[str, Any]]:
    return [(name, m) for name, m in model.named_modules() if name and not list(m.children())]


def _check_static(model, what: str = "static quantization",
                  instead: str = "use --mode dynamic (quantizes the Linear layers only)") -> None:
    for name, mod in _leaves(model):
        if type(mod).__name__ not in _STATIC_OK or type(mod).__module__.startswith(
                "torchlite.nn.quantized"):
            raise UsageError(
                f"{what} does not support layer model.{name} ({type(mod).__name__}); "
                f"supported layers: {', '.join(_STATIC_OK)}; {instead}")
    if not isinstance(model, nn.Sequential):
        raise UsageError(f"{what} needs a sequential model (layers listed in the config), got "
                         f"{type(model).__name__}; {instead}")


def check_qat_layers(model, instead: str = "use --mode dynamic (quantizes the Linear layers "
                     "only)") -> None:
    """A usage error naming the first layer that quantization-aware training cannot quantize."""
    _check_static(model, "quantization-aware training", instead)


def check_qat(cfg, model) -> None:
    """A config error (at trainer.quantization) naming the first layer that quantization-aware
    training cannot quantize."""
    from .loader import ConfigError

    try:
        check_qat_layers(model, "remove trainer.quantization")
    except UsageError as exc:
        raise ConfigError([cfg.source.problem(("trainer", "quantization"), str(exc))]) from None


def _fusion_groups(model) -> list[list[str]]:
    """Consecutive (Conv2d|Linear, ReLU) pairs of a Sequential, fused so the quantized layer
    applies the ReLU before rounding (one rounding instead of two)."""
    names = list(model._modules)
    groups = []
    for a, b in zip(names, names[1:]):
        if isinstance(model._modules[a], (nn.Conv2d, nn.Linear)) and \
                isinstance(model._modules[b], nn.ReLU):
            groups.append([a, b])
    return groups


def _check_regression(model, task: str) -> None:
    if task != "regression":
        return
    last = [name for name, m in _leaves(model) if isinstance(m, (nn.Linear, nn.Conv2d))]
    where = f"model.{last[-1]}" if last else "the output layer"
    raise UsageError(f"the model is a regression head: its output layer {where} must stay "
                     "float (int8 outputs would round the predicted values); quantize "
                     "classification models only")


def quantize_model(model, mode: str, *, per_channel: bool = False, calibration=None):
    """The quantized copy of float `model` (eval mode). static needs `calibration`, an
    iterable of input batches; without it (rebuilding a saved structure) the observers keep
    their defaults, to be overwritten by load_state_dict."""
    from torchlite.ao import quantization as tq

    model = copy.deepcopy(model).eval()
    if mode == "dynamic":
        qconfig = tq.per_channel_dynamic_qconfig if per_channel else tq.default_dynamic_qconfig
        return tq.quantize_dynamic(model, {nn.Linear: qconfig, nn.LSTM: qconfig,
                                           nn.GRU: qconfig})
    if mode != "static":
        raise UsageError(f"quantize_model: mode must be dynamic or static, got {mode!r}")
    _check_static(model)
    groups = _fusion_groups(model)
    if groups:
        model = tq.fuse_modules(model, groups)
    wrapped = tq.QuantWrapper(model)
    qconfig = tq.get_default_qconfig("x86")
    if not per_channel:
        qconfig = tq.QConfig(activation=qconfig.activation, weight=tq.default_weight_observer)
    wrapped.qconfig = qconfig
    wrapped.eval()
    prepared = tq.prepare(wrapped, inplace=True)
    with torchlite.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no calibration: rebuilding a structure to load into
        for x in calibration or ():
            prepared(x)
        return tq.convert(prepared, inplace=True)


def qat_model(model, qcfg):
    """The quantization-aware-training version of a sequential float `model` (in place):
    (Conv2d|Linear)+ReLU fused, QAT layers with fake-quantized weights sharing the float
    layers' Parameters (an optimizer built earlier keeps training them), FakeQuantize after
    them, the whole between a QuantStub and a DeQuantStub. `qcfg`: trainer.quantization (or a
    dict with per_channel and backend)."""
    from torchlite.ao import quantization as tq

    get = qcfg.get if isinstance(qcfg, dict) else lambda k, d=None: getattr(qcfg, k, d)
    _check_static(model)
    groups = _fusion_groups(model)
    if groups:
        model = tq.fuse_modules_qat(model, groups, inplace=True)
    wrapped = tq.QuantWrapper(model)
    qconfig = tq.get_default_qat_qconfig(get("backend", "x86"))
    # the backend's activations; the weights as per_channel says (qnnpack's default is per
    # tensor, which left per_channel: true without effect)
    weight = (tq.default_per_channel_weight_fake_quant if get("per_channel", True)
              else tq.default_weight_fake_quant)
    qconfig = tq.QConfig(activation=qconfig.activation, weight=weight)
    wrapped.qconfig = qconfig
    return tq.prepare_qat(wrapped.train(model.training), inplace=True)


def apply_quantization(model, layout: dict):
    """Rebuild the quantized structure a checkpoint's `quantization` entry describes."""
    if not isinstance(layout, dict) or layout.get("mode") not in MODES:
        from torchlite.serialization import CheckpointError

        raise CheckpointError(f"checkpoint metadata is malformed: quantization is "
                              f"{str(layout)[:80]}, expected a mode of "
                              f"{', '.join(MODES)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if layout["mode"] == "qat":
            from torchlite.ao import quantization as tq

            return tq.convert(qat_model(model, layout).eval(), inplace=True)
        return quantize_model(model, layout["mode"], per_channel=bool(layout.get("per_channel")))


def restore_structure(model, cfg, info: dict):
    """The model a checkpoint's tensors fit: quantized (a `torchlite quantize` or QAT int8
    file), fake-quantized (the float weights of a QAT run), or the float model as built."""
    if "quantization" in info:
        return apply_quantization(model, info["quantization"])
    if cfg.trainer.quantization is not None:
        return qat_model(model, cfg.trainer.quantization).eval()
    return model


class QatSchedule:
    """Epoch-end action of a QAT run: before `fake_quant_start_epoch` the observers watch a
    float model (its ranges settle while it learns); from that epoch on, weights and
    activations are fake-quantized. (PyTorch's QAT usually fine-tunes a trained float model;
    this is the same within one run.)"""

    def __init__(self, start_epoch: int) -> None:
        self.start_epoch = start_epoch

    def _set(self, tr, epochs_done: int) -> None:
        from torchlite.ao import quantization as tq

        on = epochs_done >= self.start_epoch
        tr.model.apply(tq.enable_fake_quant if on else tq.disable_fake_quant)

    @contextlib.contextmanager
    def run_scope(self, tr):
        self._set(tr, tr.state.epoch)  # after a resume too
        yield

    def __call__(self, tr, end) -> None:
        self._set(tr, end.epoch)


def finish_qat(trainer) -> dict[str, Any]:
    """At the end of a QAT run: convert the final (best) weights to int8, write
    weights/quantized.safetensors beside them, and evaluate it on the test split."""
    from torchlite.ao import quantization as tq
    from torchlite.serialization import read_metadata
    from torchlite.utils.data import DataLoader

    from . import checkpoint as ckpt

    qcfg = trainer.cfg.trainer.quantization
    source = Path(trainer._final_weights_path() or trainer.paths.last)
    info = json.loads(read_metadata(source)[ckpt._KEY])
    model = copy.deepcopy(trainer.model).to("cpu").eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qmodel = tq.convert(model, inplace=True)
    out = source.parent / QUANTIZED_NAME
    info["quantization"] = {"mode": "qat", "per_channel": qcfg.per_channel,
                            "backend": qcfg.backend}
    torchlite.save(qmodel.state_dict(), out, metadata={ckpt._KEY: json.dumps(info)})
    result: dict[str, Any] = {"path": str(out), "size": out.stat().st_size}
    if trainer.data.test is not None:
        loader = DataLoader(trainer.data.test, batch_size=trainer.cfg.data.batch_size)
        result["test_accuracy"] = _accuracy(qmodel, loader, trainer.cfg)
    trainer.log(f"quantized: {out}" + (f", test accuracy {result['test_accuracy']:.4f}"
                                       if "test_accuracy" in result else ""))
    return result


def _accuracy(model, loader, cfg) -> float:
    from .restore import checked_forward

    right = total = 0
    with torchlite.no_grad():
        for x, y in loader:
            out = checked_forward(model, x, cfg)
            pred = np.argmax(torchlite.backend.to_host(out._data), axis=1)
            right += int((pred == torchlite.backend.to_host(y._data)).sum())
            total += len(pred)
    return right / max(total, 1)


def quantize_checkpoint(target=None, *, mode: str = "dynamic", calibration_batches: int = 10,
                        per_channel: bool | None = None, output: str | Path | None = None,
                        root: str = "runs", model_code: str | None = None,
                        trust_model_code: bool = False, epochs: int | None = None,
                        lr: float | None = None, progress=None) -> dict[str, Any]:
    """Quantize a run's (or checkpoint's) model, write the int8 checkpoint, and report sizes
    and test accuracy before and after (a dict). `epochs`, `lr` and `progress` are the qat
    mode's (see qat_finetune.finetune). `per_channel` None: per tensor, except for qat, which
    follows the x86 QAT qconfig (and trainer.quantization) with one scale per channel."""
    from torchlite.serialization import CheckpointError
    from torchlite.utils.data import DataLoader

    from . import checkpoint as ckpt
    from .build import build_data
    from .restore import check_stored_dataset, input_transform, model_from_checkpoint
    from .runs import resolve_checkpoint

    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if calibration_batches < 1:
        raise UsageError(f"--calibration-batches must be at least 1, got {calibration_batches}")
    if per_channel is None:
        per_channel = mode == "qat"
    path = resolve_checkpoint(target, root)
    model, cfg, info = model_from_checkpoint(path, "cpu", model_code=model_code,
                                             trust_model_code=trust_model_code)
    if "quantization" in info:
        raise UsageError(f"{path} is already quantized ({info['quantization'].get('mode')}); "
                         "pass the run folder or its float weights")
    if cfg.trainer.quantization is not None:
        raise UsageError(f"{path} holds a fake-quantized model (its run trained with "
                         "trainer.quantization), and that run wrote its int8 model to "
                         f"{path.parent / QUANTIZED_NAME}; quantize a float run instead")
    pre = info["preprocess"]
    _check_regression(model, pre["task"])
    if mode == "dynamic" and not any(isinstance(m, (nn.Linear, nn.LSTM, nn.GRU))
                                     for m in model.modules()):
        raise UsageError("dynamic quantization found no Linear, LSTM or GRU layer in the model; "
                         "try --mode static")
    check_stored_dataset(path, cfg)
    bundle = build_data(cfg)
    transform = input_transform(path, pre)
    batch = cfg.data.eval_batch_size or cfg.data.batch_size
    layout: dict[str, Any] = {"mode": mode, "per_channel": per_channel,
                              "calibration_batches": 0, "engine": "x86"}
    if mode != "dynamic":
        if bundle.train is None:
            what = "calibrate on" if mode == "static" else "fine-tune on"
            raise CheckpointError(f"{path}: its dataset has no training split to {what}")
        bundle.train.transform = transform
    if mode == "qat":
        from . import qat_finetune

        n = qat_finetune.DEFAULT_EPOCHS if epochs is None else epochs
        tuned, used_lr = qat_finetune.finetune(model, cfg, bundle, pre, epochs=n, lr=lr,
                                               per_channel=per_channel, progress=progress)
        qmodel = qat_finetune.convert(tuned)
        layout.update(backend="x86", epochs=n, lr=used_lr)
    else:
        calibration = None
        if mode == "static":
            loader = DataLoader(bundle.train, batch_size=cfg.data.batch_size)
            calibration = [x for _, (x, _y) in zip(range(calibration_batches), loader)]
            layout["calibration_batches"] = calibration_batches
        qmodel = quantize_model(model, mode, per_channel=per_channel, calibration=calibration)
    out = Path(output) if output is not None else path.parent / QUANTIZED_NAME
    qinfo = dict(info, quantization=layout)
    out.parent.mkdir(parents=True, exist_ok=True)
    torchlite.save(qmodel.state_dict(), out, metadata={ckpt._KEY: json.dumps(qinfo)})
    report: dict[str, Any] = {"checkpoint": str(path), "output": str(out), "mode": mode,
                              "per_channel": per_channel, "size_before": path.stat().st_size,
                              "size_after": out.stat().st_size}
    if mode == "qat":
        report.update(epochs=layout["epochs"], lr=layout["lr"])
    test = bundle.test if bundle.test is not None else bundle.val
    if test is not None:
        test.transform = transform
        loader = DataLoader(test, batch_size=batch)
        report["accuracy_before"] = _accuracy(model, loader, cfg)
        report["accuracy_after"] = _accuracy(qmodel, loader, cfg)
        report["split"] = "test" if bundle.test is not None else "val"
    return report
