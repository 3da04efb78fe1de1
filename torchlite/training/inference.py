"""Inference with a checkpoint: its model run on raw inputs, preprocessed as at training time,
giving outputs (and, for a classifier, predicted classes and probabilities).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import torchlite
from torchlite.backend import to_host
from torchlite.errors import DataError
from torchlite.serialization import CheckpointError

from .build import resolve_device
from .inputs import nonfinite, select_columns
from .loader import UsageError
from .precision import for_checkpoint
from .restore import checked_forward, input_transform, model_from_checkpoint, nonfinite_weights
from .runs import resolve_checkpoint

__all__ = ["predict"]


def predict(inputs: np.ndarray, target=None, *, device: str | None = None, root: str = "runs",
            batch_size: int = 256, probs: bool = False, model_code: str | None = None,
            trust_model_code: bool = False, threads: int | None = None,
            precision: str | None = None) -> dict[str, Any]:
    """Run the checkpoint's model on raw inputs (preprocessed as at training time), in
    `precision` (default: the checkpoint's trainer.precision).

    Errors name `inputs.source` when the inputs come from `load_inputs`. Inputs must be real
    numbers, finite as float32; complex values are refused, not cut to their real part.
    A custom model needs `model_code` or `trust_model_code` (see model_from_checkpoint).
    """
    src = getattr(inputs, "source", None) or "input"
    if batch_size < 1:
        raise UsageError(f"batch size must be at least 1, got {batch_size}")
    if inputs.dtype.kind not in "biuf":
        raise DataError(f"{src}: inputs of dtype {inputs.dtype} are not accepted: the model "
                         "takes real numbers (complex or text values have no meaning for it)")
    dev = resolve_device(device or "auto")
    path = resolve_checkpoint(target, root)
    model, cfg, info = model_from_checkpoint(path, dev, model_code=model_code,
                                             trust_model_code=trust_model_code)
    bad = nonfinite_weights(model)
    if bad is not None:  # every prediction would be NaN: no answer is better than that one
        raise CheckpointError(f"{path}: its weights hold NaN or infinite values (first in "
                              f"{bad!r}), as a diverged run saves them; predictions from them "
                              "would be meaningless")
    for_checkpoint(model, cfg, precision, dev)
    pre = info["preprocess"]
    from .threads import choose_threads

    choose_threads(threads, model, tuple(pre["input_shape"]), batch_size)
    if probs and pre["task"] != "classification":
        raise UsageError(f"--probs: {path} is a regression model; its outputs are values, "
                         "not class probabilities")
    raw_shape = tuple(pre["raw_shape"])
    x = inputs
    if getattr(inputs, "columns", None) is not None:
        x = select_columns(inputs, cfg, pre, src)
    n_raw = int(np.prod(raw_shape))
    if x.ndim == 0 or x.size == 0:
        raise DataError(f"{src} has shape {tuple(x.shape)}: it holds no samples")
    given = x  # errors give positions in the layout of the user's array
    if tuple(x.shape[1:]) != raw_shape:
        if x.size == n_raw:
            given = x[None]
            x = x.reshape((1, *raw_shape))  # one unbatched sample, in whatever layout
        elif x.ndim >= 2 and int(np.prod(x.shape[1:])) == n_raw:
            x = x.reshape((x.shape[0], *raw_shape))
        else:
            hint = ""
            if x.ndim == 2 and x.shape[1] == n_raw + 1:
                hint = "; it has one column too many: if that is the target column, remove it"
            raise DataError(
                f"{src} has shape {tuple(x.shape)}, but the model expects samples of shape "
                f"{list(raw_shape)} (a batch (N, {', '.join(map(str, raw_shape))}) or one "
                f"sample){hint}")
    transform = input_transform(path, pre)
    ids = pre.get("input_dtype") == "int64"  # token ids: checked whole and fed as int64
    if ids:
        from .token_inputs import check_token_ids

        check_token_ids(np.asarray(x), src)
    outs = []
    with torchlite.no_grad():
        for i in range(0, x.shape[0], batch_size):
            with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: refused
                chunk = np.asarray(x[i:i + batch_size], dtype=np.int64 if ids else np.float32)
            if x.dtype.kind == "f" and not ids and not np.isfinite(chunk).all():
                raise nonfinite(given, src)
            if transform is not None:
                chunk = transform(chunk)
            xb = torchlite.from_numpy(np.ascontiguousarray(chunk)).to(dev)
            out = checked_forward(model, xb, cfg)
            outs.append(to_host(out._data))
    logits = np.concatenate(outs) if outs else np.zeros((0,))
    result: dict[str, Any] = {"checkpoint": str(path), "task": pre["task"], "n": len(logits)}
    if pre["task"] == "classification" and logits.ndim == 2 and logits.shape[1] == 1:
        # one logit per sample (BCEWithLogitsLoss): the probability of class 1 is its sigmoid
        p1 = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        p = np.concatenate([1.0 - p1, p1], axis=1).astype(logits.dtype)
    elif pre["task"] == "classification":
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
    if pre["task"] == "classification":
        result["pred"] = p.argmax(axis=1)
        result["confidence"] = p.max(axis=1)
        result["probs"] = p
        result["classes"] = pre.get("classes")
        result["output"] = p if probs else logits
    else:
        result["output"] = logits
    return result
