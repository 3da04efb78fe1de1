"""Checkpoint files of a run: weights with everything needed to use them, and training state.

`weights/*.safetensors` hold the model's state_dict under PyTorch's names (PyTorch loads them
with `safetensors.torch.load_file`); their metadata holds, as JSON, the resolved config, the
epoch, the metrics and the preprocessing fitted at training time (normalisation statistics,
input shape, class names), so eval and infer rebuild the model and its inputs from the file
alone. `weights/last_state.safetensors` holds what resuming needs: the model's weights again,
optimizer and scheduler state, the RNG state and the loop counters. The weights are in it so
that one atomic file holds a consistent pair: with them only in `last.safetensors`, a crash
between the two files' writes left the weights of epoch N beside the optimizer state of epoch
N - 1, and the resume was not exact. (State files written before they carried the weights
resume from `last.safetensors`.)
"""

from __future__ import annotations

import json
from pathlib import Path

import torchlite
from torchlite.serialization import (
    CheckpointError,
    FileBytes,
    atomic_write_bytes,
    file_bytes,
    malformed,
    parse_metadata_json,
    read_metadata,
)

FORMAT_VERSION = 1
_KEY = "torchlite_checkpoint"


def weights_file(model, cfg, epoch: int, metrics: dict, preprocess: dict) -> FileBytes:
    """The bytes of a weights file (see `save_weights`): a snapshot now, its buffers (to write
    one after the other) when called."""
    info = {
        "format_version": FORMAT_VERSION,
        "epoch": epoch,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "config": cfg.model_dump(mode="json"),
        "preprocess": preprocess,
        "torchlite_version": torchlite.__version__,
    }
    return file_bytes(model.state_dict(), {_KEY: json.dumps(info)})


def save_weights(path, model, cfg, epoch: int, metrics: dict, preprocess: dict) -> None:
    """The model's state_dict with the config, epoch, metrics and preprocessing as metadata,
    written atomically to `path`."""
    atomic_write_bytes(path, weights_file(model, cfg, epoch, metrics, preprocess)())


def read_checkpoint_info(path) -> dict:
    """The metadata `save_weights` wrote; a clear CheckpointError for anything else."""
    meta = read_metadata(path)
    raw = meta.get(_KEY)
    if raw is None:
        raise CheckpointError(
            f"{path}: a safetensors file without torchlite training metadata (no config); "
            "eval and infer need a checkpoint written by `torchlite train`"
        )
    info = parse_metadata_json(path, raw, _KEY)
    if not isinstance(info, dict):
        raise malformed(path, "expected a JSON object")
    version = info.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is not supported "
                              f"by this torchlite (reads up to {FORMAT_VERSION})")
    for key in ("config", "preprocess"):
        if not isinstance(info.get(key), dict):
            raise CheckpointError(f"{path}: checkpoint metadata lacks '{key}'")
    return info


def training_state_file(optimizer, scheduler, loop, model=None) -> FileBytes:
    """The bytes of the training state file (see `save_training_state`), as `weights_file`'s."""
    state = {
        "model": model.state_dict() if model is not None else None,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "loop": loop.to_dict(),
        "rng": torchlite.get_rng_state(),
        "format_version": FORMAT_VERSION,
    }
    return file_bytes(state)


def save_training_state(path, optimizer, scheduler, loop, model=None) -> None:
    """What resuming needs (the model's weights, optimizer and scheduler state, RNG state, loop
    counters), written atomically to `path`."""
    atomic_write_bytes(path, training_state_file(optimizer, scheduler, loop, model)())


def load_training_state(path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: the training state for resuming is missing (a run that "
                              "never finished an epoch cannot be resumed)")
    state = torchlite.load(p)
    if not isinstance(state, dict) or not {"optimizer", "loop", "rng"} <= set(state):
        raise CheckpointError(f"{p}: not a torchlite training state file")
    return state
