"""The operations the CLI offers, as plain functions: train, resume, evaluate, predict, validate,
summarize. Each returns data (dicts, arrays); rendering is the caller's business. Evaluation and
inference live in their own modules (evaluation, inference) and are re-exported here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torchlite
from torchlite.serialization import CheckpointError

from . import distributed
from .build import input_dtype
from .checkpoint import read_checkpoint_info
from .config import Config, load_config, validate_config
from .evaluation import evaluate_checkpoint
from .inference import predict
from .inputs import load_inputs
from .loader import ConfigError, apply_overrides, load_yaml
from .preflight import check_resume_changes
from .prepare import prepare
from .restore import UserModelError, checked_forward, model_from_checkpoint
from .runs import (
    CheckpointNotFoundError,
    RunPaths,
    open_run_dir,
    reopen_run_dir,
    resolve_checkpoint,
    run_dir_of,
)
from .trainer import Trainer

__all__ = ["UserModelError", "evaluate_checkpoint", "load_inputs", "predict", "resume",
           "summarize", "train", "validate"]


def _shortcuts(overrides, device=None, seed=None, epochs=None) -> list[str]:
    out = list(overrides or [])
    if device is not None:
        out.append(f"device={device}")
    if seed is not None:
        out.append(f"seed={seed}")
    if epochs is not None:
        out.append(f"trainer.epochs={epochs}")
    return out


def _absolute_paths(cfg: Config) -> None:
    """Data files given relative to the working directory are stored absolute in the run's
    config, so eval and infer find them from anywhere."""
    for key in ("path", "targets_path"):
        value = getattr(cfg.data, key, None)
        if value and not Path(value).is_absolute():
            setattr(cfg.data, key, str(Path(value).resolve()))


def train(config_path, overrides=(), *, name=None, exist_ok=False, device=None, seed=None,
          epochs=None, callback: Callable | None = None, plots: bool = True,
          threads: int | None = None) -> dict:
    """Validate the config, build everything, then create the run folder and train.
    `plots=False` leaves out plots/ (as `output.plots: false` does); `threads` as in
    `torchlite._parallel.thread_policy` (None: chosen from the work)."""
    sess = distributed.session()  # one rank of an MPI launch, or the only process
    extra = _shortcuts(overrides, device, seed, epochs)
    if name is not None:
        extra.append(f"name={name}")
    with sess.together("preparing the run"):
        cfg, _ = load_config(config_path, extra)
        _absolute_paths(cfg)
        # every config and data error surfaces here, before a folder exists
        run = prepare(cfg, device=sess.device_for(cfg))
    # the folder stays locked until fit() returns: no other process can write into it
    with sess.run_dir(lambda: open_run_dir(cfg.output.root, cfg.name,
                                           exist_ok=exist_ok)) as paths:
        return _fit(sess.trainer(run, paths, callback=callback, plots=plots), threads)


def _fit(trainer: Trainer, threads: int | None) -> dict:
    """Pick the threads for the run's work, then train; the choice goes into summary.json."""
    from .threads import choose_threads

    run = trainer.run
    choice = choose_threads(threads, run.model, run.data.input_shape, run.cfg.data.batch_size)
    trainer.summary_extra["threads"] = choice.to_dict()
    ids = run.data.preprocess.get("input_dtype") == "int64"  # token ids are never normalised
    trainer.summary_extra["preprocessing"] = {
        "normalize": "none" if ids else run.cfg.data.normalize_for(run.data.raw_shape),
        "normalize_configured": run.cfg.data.normalize, "input_shape": list(run.data.input_shape)}
    return trainer.fit()


def resume(target, overrides=(), *, device=None, epochs=None,
           callback: Callable | None = None, plots: bool = True,
           threads: int | None = None) -> dict:
    """Continue the run holding `target` (a run folder or one of its checkpoints)."""
    sess = distributed.session()  # one rank of an MPI launch, or the only process
    with sess.together("reading the run to resume"):
        p = Path(target)
        if not p.exists():  # else run_dir_of would name the parent folder
            raise CheckpointNotFoundError(f"{p}: no such run folder or checkpoint")
        run = p if p.is_dir() and p.name != "weights" else run_dir_of(p)  # weights/ -> its run
        paths = RunPaths(run)
        if not paths.config.is_file():
            raise CheckpointError(f"{run}: not a run folder (no config.yaml); --resume takes a "
                                  "run folder or a checkpoint inside one")
        text = paths.config.read_text(encoding="utf-8")
        data, source = load_yaml(text, str(paths.config))
        stored = copy.deepcopy(data)
        data = apply_overrides(data, _shortcuts(overrides, device, None, epochs), source)
        cfg = validate_config(data, source)
        check_resume_changes(_trained_config(paths, stored), cfg)
        distributed.check_resume_world(paths, sess.world_size)
    # locked until fit() returns; refuses symbolic links
    with sess.run_dir(lambda: reopen_run_dir(run), resume_from=run) as paths:
        with sess.together("preparing the run"):
            prepared = prepare(cfg, device=sess.device_for(cfg))
        return _fit(sess.trainer(prepared, paths, callback=callback, resume=True, plots=plots),
                    threads)


def _trained_config(paths: RunPaths, stored: dict) -> Config:
    """The config the run trained with: the one stored with its last weights (a hand edit of
    config.yaml does not change it), or config.yaml before overrides when no epoch was saved."""
    if paths.last.is_file():
        try:
            return validate_config(read_checkpoint_info(paths.last)["config"])
        except ConfigError as exc:
            raise CheckpointError(f"{paths.last}: the config stored in the checkpoint is "
                                  f"invalid: {exc}") from None
    return validate_config(stored)


# ----------------------------------------------------------------------------------------------
# validate / summary


def validate(config_path, overrides=()) -> dict[str, Any]:
    """Check a config: build everything and run one batch forward (no training, no files)."""
    cfg, _ = load_config(config_path, overrides)
    run = prepare(cfg)
    shape, loss = run.first_batch
    data = run.data
    return {"name": cfg.name, "input_shape": list(data.input_shape), "output_shape": shape,
            "loss": loss, "parameters": sum(p.numel() for p in run.model.parameters()),
            "train": len(data.train), "val": len(data.val) if data.val else 0,
            "test": len(data.test) if data.test else 0}


def summarize(target, *, model_code: str | None = None,
              trust_model_code: bool = False) -> dict[str, Any]:
    """Layer table (output shapes, parameter counts) of a config's or checkpoint's model. A
    checkpoint's custom model needs `model_code` or `trust_model_code`."""
    p = Path(target)
    from_config = p.suffix.lower() in (".yaml", ".yml")
    if from_config:  # the config's own model: its failures are config errors, as in train
        cfg, _ = load_config(p)
        run = prepare(cfg, upto="model", device="cpu")
        model, input_shape, forward = run.model, run.data.input_shape, run.forward
    else:
        path = resolve_checkpoint(p)
        model, cfg, info = model_from_checkpoint(path, "cpu", model_code=model_code,
                                                 trust_model_code=trust_model_code)
        input_shape = tuple(info["preprocess"]["input_shape"])
        forward = partial(checked_forward, model, cfg=cfg)
    rows = []
    hooks = []

    def hook(mod, inputs, output, name):
        shape = list(output.shape) if hasattr(output, "shape") else \
            [list(o.shape) for o in output if hasattr(o, "shape")]
        own = sum(q.numel() for q in mod.parameters(recurse=False))
        rows.append({"name": name, "type": type(mod).__name__, "output_shape": shape,
                     "parameters": own})

    for name, mod in model.named_modules():
        if name and not list(mod.children()):
            hooks.append(mod.register_forward_hook(
                lambda m, i, o, name=name: hook(m, i, o, name)))
    model.eval()
    ids = (input_dtype(cfg) if from_config else info["preprocess"].get("input_dtype")) == "int64"
    with torchlite.no_grad():  # token ids (data.input_dtype int64) go in as integers
        forward(torchlite.zeros((1, *input_shape), dtype=torchlite.int64 if ids else None))
    for h in hooks:
        h.remove()
    total = sum(q.numel() for q in model.parameters())
    trainable = sum(q.numel() for q in model.parameters() if q.requires_grad)
    size = sum(q.numel() * q.element_size() for q in model.parameters())
    return {"name": cfg.name, "input_shape": list(input_shape), "layers": rows,
            "total_parameters": total, "trainable_parameters": trainable, "size_bytes": size}
