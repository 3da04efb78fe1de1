"""The configured loss fitted to the data: `loss.class_weights` (balanced or a list, passed as
the loss's `weight`) and integer 0/1 targets for the binary cross-entropy losses, cast to the
output's dtype and shape as users of a classification dataset expect."""

from __future__ import annotations

from typing import Any

import numpy as np

import torchlite
import torchlite.nn as nn

__all__ = ["BINARY_LOSSES", "BinaryTargets", "class_weights", "loss_arguments"]

BINARY_LOSSES = ("BCEWithLogitsLoss", "BCELoss")
_WEIGHTED_LOSSES = ("CrossEntropyLoss", "NLLLoss")


def _problem(cfg, path: tuple, message: str):
    from .build import _problem as located

    return located(cfg, path, message)


def class_weights(spec: Any, targets: np.ndarray | None, num_classes: int | None, cfg=None
                  ) -> list[float] | None:
    """The weight of each class: `balanced` gives n / (classes * count) per class, as
    scikit-learn's class_weight='balanced' (a class absent from the training split gets 1); a
    list is checked and returned. None when `balanced` has no targets to count."""
    path = ("loss", "class_weights")
    if isinstance(spec, str):
        if spec != "balanced":
            raise _problem(cfg, path, f"expected 'balanced' or a list of numbers, got {spec!r}")
        if targets is None or not num_classes:
            return None
        counts = np.bincount(np.asarray(targets).reshape(-1).astype(np.int64),
                             minlength=num_classes)[:num_classes]
        n = counts.sum()
        return [float(n / (num_classes * c)) if c else 1.0 for c in counts]
    ok = isinstance(spec, list) and spec and all(
        isinstance(w, (int, float)) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
        for w in spec)
    if not ok:
        raise _problem(cfg, path, f"expected 'balanced' or a list of numbers >= 0, got {spec!r}")
    if num_classes and len(spec) != num_classes:
        raise _problem(cfg, path, f"{len(spec)} weights for {num_classes} classes: give one "
                       "per class, in the order of the class indices")
    return [float(w) for w in spec]


def loss_arguments(cfg, data=None, preprocess: dict | None = None) -> dict[str, Any]:
    """The loss constructor's keyword arguments: the config's, with `class_weights` turned into
    `weight` (computed from `data`'s training split, or read from a checkpoint's `preprocess`;
    the weights used are recorded in `data.preprocess` so checkpoints keep them)."""
    kwargs = dict(cfg.loss.kwargs)
    spec = kwargs.pop("class_weights", None)
    name = cfg.loss.type
    task = getattr(data, "task", None) or (preprocess or {}).get("task")
    num_classes = getattr(data, "num_classes", None) or (preprocess or {}).get("num_classes")
    if name in BINARY_LOSSES and task == "classification" and num_classes and num_classes > 2:
        raise _problem(cfg, ("loss", "type"), (
            f"{name} is for binary (0/1) targets, but the data has {num_classes} classes: use "
            "CrossEntropyLoss"))
    if spec is None:
        return kwargs
    if name not in _WEIGHTED_LOSSES:
        raise _problem(cfg, ("loss", "class_weights"), (
            f"{name} takes no class weights: class_weights works with "
            f"{' and '.join(_WEIGHTED_LOSSES)}" +
            (" (for a binary loss, weigh the positive class with pos_weight)"
             if name in BINARY_LOSSES else "")))
    if task is not None and task != "classification":
        raise _problem(cfg, ("loss", "class_weights"), "only for classification tasks")
    weights = (preprocess or {}).get("class_weights")
    if weights is None:
        train = getattr(data, "train", None)
        targets = getattr(train, "targets", None) if train is not None else None
        weights = class_weights(spec, targets, num_classes, cfg)
    if weights is None:
        return kwargs
    if data is not None:
        data.preprocess["class_weights"] = list(weights)
    kwargs["weight"] = torchlite.tensor(weights, dtype=torchlite.float32)
    return kwargs


class BinaryTargets(nn.Module):
    """Wraps a binary cross-entropy loss so that integer class targets (0/1, shape (N,)) are
    cast to the output's dtype and shape; float targets pass through unchanged."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, input, target):  # noqa: A002 - PyTorch's argument name
        if not target.dtype.is_floating_point:
            if tuple(target.shape) != tuple(input.shape):
                if target.numel() != input.numel():
                    per = input.numel() // max(target.numel(), 1)
                    raise ValueError(
                        f"{type(self.loss).__name__} takes one output per sample for 0/1 class "
                        f"targets, but the model gives {per}: set the model's last layer to 1 "
                        "output (out_features: 1), or use CrossEntropyLoss with "
                        f"{per} outputs")
                target = target.reshape(tuple(input.shape))
            target = target.to(input.dtype)
        return self.loss(input, target)

    def extra_repr(self) -> str:
        return "integer targets cast to the output's dtype"
