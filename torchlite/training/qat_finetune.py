"""`torchlite quantize --mode qat`: quantization-aware fine-tuning of a trained float model.

PyTorch's QAT workflow: prepare the trained float model for QAT (Conv2d/Linear+ReLU fused,
weights and activations fake-quantized), train it a few more epochs at a lower learning rate,
then convert it to int8. Starting from the trained weights is what keeps the int8 model as
accurate as the float one; a model trained under fake quantization from its first step learns
more slowly and, on some seeds, settles lower. As in PyTorch's recipe the observers are frozen
after the first epoch: the scales stop moving, so the last epochs train against the grid the
int8 model will use.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from typing import Any

import torchlite
from torchlite.errors import TrainingDiverged, UsageError

DEFAULT_EPOCHS = 3
LR_FACTOR = 0.1  # of the config's learning rate, when --lr is not given


def finetune(model, cfg, bundle, preprocess: dict, *, epochs: int = DEFAULT_EPOCHS,
             lr: float | None = None, per_channel: bool = False, backend: str = "x86",
             progress: Callable[..., None] | None = None):
    """Fine-tune a copy of float `model` with fake quantization on `bundle.train` (its
    transform already set) and return (the QAT model in eval mode, its observers off, and the
    learning rate used).

    The optimizer is the config's, its learning rate `lr` (default the config's times
    LR_FACTOR) and held constant; gradient clipping follows trainer.grad_clip. `progress(epoch=,
    epochs=, loss=)` is called after each epoch with its mean training loss.
    """
    from torchlite.ao import quantization as tq
    from torchlite.nn.utils import clip_grad_norm_, clip_grad_value_
    from torchlite.utils.data import DataLoader

    from .build import build_loss, build_optimizer
    from .quantize import check_qat_layers, qat_model
    from .restore import nonfinite_weights

    if epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {epochs}")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive number, got {lr}")
    check_qat_layers(model)
    torchlite.manual_seed(cfg.seed)  # the same shuffles and dropout on every call
    qmodel = qat_model(copy.deepcopy(model), {"backend": backend, "per_channel": per_channel})
    optimizer = build_optimizer(cfg, qmodel)
    for group in optimizer.param_groups:
        group["lr"] = lr if lr is not None else float(group["lr"]) * LR_FACTOR
    used_lr = float(optimizer.param_groups[0]["lr"])
    loss_fn = build_loss(cfg, bundle, preprocess)
    loader = DataLoader(bundle.train, batch_size=cfg.data.batch_size, shuffle=cfg.data.shuffle)
    tc = cfg.trainer
    for epoch in range(1, epochs + 1):
        if epoch > 1:
            qmodel.apply(tq.disable_observer)
        qmodel.train()
        total, count = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(qmodel(x), y)
            loss.backward()
            value = float(loss.item())
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"QAT fine-tuning: the loss became {value} in epoch {epoch} at lr "
                    f"{used_lr:.6g}; nothing was written (try a lower --lr)")
            if tc.grad_clip is not None:
                clip = clip_grad_norm_ if tc.grad_clip_algorithm == "norm" else clip_grad_value_
                clip(qmodel.parameters(), tc.grad_clip)
            optimizer.step()
            total += value * len(y)
            count += len(y)
        bad = nonfinite_weights(qmodel)
        if bad is not None:  # fake quantization can keep the loss finite after weights overflow
            raise TrainingDiverged(
                f"QAT fine-tuning: {bad} became non-finite in epoch {epoch} at lr "
                f"{used_lr:.6g}; nothing was written (try a lower --lr)")
        if progress is not None:
            progress(epoch=epoch, epochs=epochs, loss=total / max(count, 1))
    qmodel.apply(tq.disable_observer)  # an eval-mode forward must not move the scales
    return qmodel.eval(), used_lr


def convert(qmodel) -> Any:
    """The int8 model of a fine-tuned QAT model (a copy; `qmodel` is left as it is)."""
    from torchlite.ao import quantization as tq

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.convert(copy.deepcopy(qmodel).to("cpu").eval(), inplace=True)
