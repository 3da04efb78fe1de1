"""What the trainer does at the end of each epoch, as a list of actions run in order.

An action is a callable `action(trainer, end) -> bool | None` (`end` an EpochEnd); one that
returns True stops the run after this epoch (early stopping), the actions after it still run.
The order of `EPOCH_END` is part of the run's files: the early-stopping counters are updated
before `last` and the training state are saved, and the epoch is logged and reported once
everything is saved. Inside `Trainer.fit` "saved" means handed to the trainer's writer
(`tr.files`, see background_writer), which writes the epoch's files while the next epoch
trains; `tr.files.wait()` returns once they are on disk.

An action may also have a `run_scope(trainer)` context manager: the trainer enters it before the
first epoch and leaves it when the run ends, however it ends (`tensorboard_log` keeps its event
file open and watches the optimizer's steps that way).
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

import torchlite
from torchlite.errors import ConfigError, TrainingDiverged

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config
    from .trainer import Trainer

__all__ = ["EPOCH_END", "EpochEnd", "check_weights", "early_stopping", "log_epoch",
           "record_metrics", "report_epoch", "require_tensorboard", "save_best", "save_every",
           "save_last", "tensorboard_log"]


@dataclass
class EpochEnd:
    """One finished epoch: its number, its metrics (`row`: train/..., val/...) and the row of
    metrics.csv (`record`: epoch, step, time_s, lr and the metrics)."""

    epoch: int
    row: dict
    record: dict


def record_metrics(tr: Trainer, end: EpochEnd) -> None:
    """Append the epoch's row to metrics.csv and to the history kept for summary.json."""
    tr.csv.add(end.record)
    tr.files.write(tr.csv.path, tr.csv.data())
    tr.state.history.append(dict(end.record))


def check_weights(tr: Trainer, end: EpochEnd) -> None:
    """A finite loss can hide weights that overflowed: such an epoch is not saved."""
    for p in tr.model.parameters():
        xp = torchlite.backend.get_xp(p._data)
        if not bool(xp.isfinite(p._data).all()):
            raise TrainingDiverged(f"weights became non-finite at epoch {end.epoch}, step "
                                   f"{tr.state.step}, lr {tr.lr():.6g}")


def save_best(tr: Trainer, end: EpochEnd) -> None:
    """weights/best.safetensors when the checkpoint monitor improved."""
    ck, st = tr.cfg.trainer.checkpoint, tr.state
    value = end.row.get(ck.monitor)
    if value is not None and _better(value, st.best_value, ck.mode):
        st.best_value, st.best_epoch = float(value), end.epoch
        tr.save_weights(tr.paths.best, end.epoch, end.row)


def save_every(tr: Trainer, end: EpochEnd) -> None:
    """weights/epoch_N.safetensors every trainer.checkpoint.save_every epochs."""
    every = tr.cfg.trainer.checkpoint.save_every
    if every and end.epoch % every == 0:
        tr.save_weights(tr.paths.epoch_weights(end.epoch), end.epoch, end.row)


def early_stopping(tr: Trainer, end: EpochEnd) -> bool:
    """True once the monitored value has gone `patience` epochs in a row without improving by
    more than `min_delta`, as Keras and Lightning count it (patience 0 or 1: stop at the first
    epoch without improvement)."""
    es, st = tr.cfg.trainer.early_stopping, tr.state
    if es is None or es.monitor not in end.row:
        return False
    if _better(end.row[es.monitor], st.es_best, es.mode, es.min_delta):
        st.es_best = float(end.row[es.monitor])
        st.bad_epochs = 0
        return False
    st.bad_epochs += 1
    return st.bad_epochs >= es.patience


def save_last(tr: Trainer, end: EpochEnd) -> None:
    """weights/last.safetensors and the training state that resuming continues from."""
    tr.save_last(end.epoch, end.row)


TENSORBOARD_EXTRA = "pip install 'torchlite[tensorboard]'"


def require_tensorboard(cfg: Config) -> None:
    """A ConfigError on output.tensorboard when it is on and tensorboardX is not installed
    (checked by `prepare`, before a run folder exists)."""
    if not cfg.output.tensorboard:
        return
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise ConfigError([cfg.source.problem(("output", "tensorboard"), (
            "TensorBoard logging needs the tensorboardX package, which is not installed: "
            f"{TENSORBOARD_EXTRA} (or set output.tensorboard: false)"))]) from None


@dataclass
class _TensorBoardRun:
    writer: Any
    grads: dict = field(default_factory=dict)  # parameter name -> array of the last step


class _TensorBoardLog:
    """output.tensorboard: each epoch, into runs/<name>/tensorboard/ at global step = epoch,
    every metric of the epoch (train/loss, val/accuracy, ...), the learning rate (`lr`) and a
    histogram of each parameter's weights (`weights/<name>`) and gradients (`gradients/<name>`).

    The gradients are those of the epoch's last optimizer step, as the optimizer received them
    (clipped, and accumulated over accumulate_grad_batches): by the end of the epoch
    zero_grad(set_to_none=True) has dropped them, so an optimizer step pre-hook copies them at
    that one step (one copy per epoch, no device synchronisation inside the step). A tensor
    holding NaN or Inf gets no histogram that epoch.
    A resumed run appends to the same folder, purging from TensorBoard's view the epochs after
    the one it resumes from.
    """

    __name__ = "tensorboard_log"

    def __init__(self) -> None:
        self._runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @contextlib.contextmanager
    def run_scope(self, tr: Trainer) -> Iterator[None]:
        """Open the event file and watch the optimizer's steps for the whole run."""
        if not tr.cfg.output.tensorboard:
            yield
            return
        from torchlite.utils.tensorboard import SummaryWriter

        from .run_guard import link_error

        folder = tr.paths.root / "tensorboard"
        if os.path.islink(folder):
            raise link_error(folder)
        # purge_step hides what an earlier run in this folder logged from this epoch on: the
        # epochs after the saved state of a resumed run, or an --exist-ok run's old events
        writer = SummaryWriter(str(folder), purge_step=tr.state.epoch + 1)
        run = self._runs[tr] = _TensorBoardRun(writer)
        handle = tr.optimizer.register_step_pre_hook(self._grab_gradients(tr, run))
        try:
            yield
        finally:
            handle.remove()
            self._runs.pop(tr, None)
            writer.close()

    @staticmethod
    def _grab_gradients(tr: Trainer, run: _TensorBoardRun) -> Callable:
        def hook(optimizer: Any, args: Any, kwargs: Any) -> None:
            # the trainer counts a batch as done after its step: this is the epoch's last one
            if tr.state.batch + 1 != len(tr.train_loader):
                return
            run.grads = {name: p.grad._data.copy() for name, p in tr.model.named_parameters()
                         if p.grad is not None}
        return hook

    def __call__(self, tr: Trainer, end: EpochEnd) -> None:
        run = self._runs.get(tr)
        if run is None:  # tensorboard off, or a trainer that did not enter run_scope
            return
        w, step = run.writer, end.epoch
        for tag, value in end.row.items():
            w.add_scalar(tag, value, step)
        w.add_scalar("lr", end.record["lr"], step)
        for name, p in tr.model.named_parameters():
            _histogram(w, f"weights/{name}", p._data, step)
        for name, g in run.grads.items():
            _histogram(w, f"gradients/{name}", g, step)
        run.grads = {}
        w.flush()


def _histogram(writer: Any, tag: str, data: Any, step: int) -> None:
    values = torchlite.backend.to_host(data)
    if values.size and np.isfinite(values).all():
        writer.add_histogram(tag, values, step)


tensorboard_log = _TensorBoardLog()


def log_epoch(tr: Trainer, end: EpochEnd) -> None:
    """One line of train.log."""
    tr.log(f"epoch {end.epoch}: " + ", ".join(
        f"{k} {v:.6g}" for k, v in end.record.items() if k != "epoch" and isinstance(v, float)))


def report_epoch(tr: Trainer, end: EpochEnd) -> None:
    """The `epoch_end` event for the callback."""
    tr.callback("epoch_end", **end.record, best_epoch=tr.state.best_epoch,
                best_value=tr.state.best_value)


EPOCH_END: tuple[Callable[..., bool | None], ...] = (
    record_metrics, check_weights, save_best, save_every, early_stopping, save_last,
    tensorboard_log, log_epoch, report_epoch,
)


def _better(value: float, best: float | None, mode: str | None,
            min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta
