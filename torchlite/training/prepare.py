"""Config -> everything a command works with, built once: `prepare(cfg) -> Prepared`.

The one path of `train`, `resume`, `validate` and `summary` (and, through
`restore.model_from_checkpoint`, of `eval` and `infer`): data, model, loss, optimizer and
scheduler are each built once by their builder, which reports its own problem as
`file:line: key.path: message`, and checked on the objects that are then used, all before a run
folder exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torchlite
from torchlite.serialization import CheckpointError
from torchlite.utils.data import DataLoader

from .actions import require_tensorboard
from .build import (
    DataBundle,
    build_data,
    build_loss,
    build_optimizer,
    build_scheduler,
    resolve_device,
)
from .config import Config
from .loader import ConfigError
from .precision import check_precision
from .preflight import (
    check_batches,
    check_one_batch,
    check_optimizer,
    check_scheduler,
    check_task,
)
from .restore import UserModelError, checked_build, checked_forward, config_model_error

__all__ = ["Prepared", "prepare"]


@dataclass
class Prepared:
    """What a config describes, built and checked: the objects a command uses as they are."""

    cfg: Config
    device: str
    data: DataBundle
    model: Any
    loss_fn: Any = None
    optimizer: Any = None
    scheduler: Any = None
    train_loader: Any = None
    steps_per_epoch: int = 0  # optimizer steps (batches over accumulate_grad_batches)
    first_batch: tuple = ()  # (output shape, loss) of the pre-run one-batch check

    def forward(self, x, detail: str = ""):
        """model(x); a failure in a custom model's own code is a ConfigError on model.target
        (the model is the config's, whose code the user is writing), with `detail` added when
        its forward raised."""
        try:
            return checked_forward(self.model, x, self.cfg)
        except UserModelError as exc:
            raise config_model_error(self.cfg, exc, detail if exc.__cause__ else "") from exc


def prepare(cfg: Config, *, upto: Literal["model", "train"] = "train", device: str | None = None,
            data: DataBundle | None = None, checkpoint: str | Path | None = None) -> Prepared:
    """Build (once) and check what `cfg` describes, in this order: device, seed, data, model,
    then for `upto="train"` loss, optimizer, batches, scheduler and one batch through model
    and loss. Every problem is raised here, before anything is written.

    `upto="model"` stops after the model and does not seed the global RNG (summary, and
    checkpoints: `data` then is the checkpoint's preprocessing, `checkpoint` its path, and a
    model that cannot be rebuilt is a CheckpointError on that file). `device` replaces
    cfg.device.
    """
    device = resolve_device(cfg.device) if device is None else device
    training = upto == "train"
    if training:
        require_tensorboard(cfg)  # an extra the run needs is checked before any work
        check_precision(cfg, device)
        # the model's initial weights and the data order are part of the run
        torchlite.manual_seed(cfg.seed)
    if data is None:
        data = build_data(cfg)
    if training:
        check_task(cfg, data)
    model = _model(cfg, data, checkpoint).to(device)
    if training and cfg.trainer.quantization is not None:
        from .quantize import check_qat  # a layer QAT cannot quantize: before any run folder

        check_qat(cfg, model)
    run = Prepared(cfg, device, data, model)
    if not training:
        return run
    run.loss_fn = build_loss(cfg, data)
    if hasattr(run.loss_fn, "to"):
        run.loss_fn = run.loss_fn.to(device)
    run.optimizer = build_optimizer(cfg, model)
    from .distributed import distributed_sampler  # lazy: it builds on the trainer

    sampler = distributed_sampler(cfg, data.train)  # a rank's share; None in one process
    run.train_loader = DataLoader(data.train, batch_size=cfg.data.batch_size,
                                  shuffle=cfg.data.shuffle and sampler is None, sampler=sampler,
                                  drop_last=cfg.data.drop_last,
                                  seed=cfg.seed, num_workers=cfg.data.num_workers)
    check_batches(cfg, len(data.train), len(run.train_loader))
    run.steps_per_epoch = math.ceil(len(run.train_loader) / cfg.trainer.accumulate_grad_batches)
    check_optimizer(cfg, run.optimizer)
    run.scheduler = build_scheduler(cfg, run.optimizer, run.steps_per_epoch)
    if run.scheduler is not None:
        check_scheduler(cfg, run.scheduler, run.optimizer, run.steps_per_epoch)
    run.first_batch = check_one_batch(run)
    return run


def _model(cfg: Config, data: DataBundle, checkpoint):
    """The model builder's own reports: a custom model's failing constructor is a config error
    on model.target for the config's author, and for a checkpoint it stays a UserModelError
    (the code came with the file); a model a checkpoint's config cannot build is a
    CheckpointError on that file."""
    from .registry import RegistryError

    try:
        return checked_build(cfg, data)
    except UserModelError as exc:
        if checkpoint is not None:
            raise
        raise config_model_error(cfg, exc) from exc
    except (ConfigError, RegistryError) as exc:
        if checkpoint is None:
            raise
        raise CheckpointError(f"{checkpoint}: cannot rebuild the checkpoint's model: {exc}") \
            from None
