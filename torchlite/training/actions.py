"""What the trainer does at the end of each epoch, as a list of actions run in order.

An action is a callable `action(trainer, end) -> bool | None` (`end` an EpochEnd); one that
returns True stops the run after this epoch (early stopping), the actions after it still run.
The order of `EPOCH_END` is part of the run's files: the early-stopping counters are updated
before `last` and the training state are saved, and the epoch is logged and reported once
everything is on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torchlite
from torchlite.errors import TrainingDiverged

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["EPOCH_END", "EpochEnd", "check_weights", "early_stopping", "log_epoch",
           "record_metrics", "report_epoch", "save_best", "save_every", "save_last"]


@dataclass
class EpochEnd:
    """One finished epoch: its number, its metrics (`row`: train/..., val/...) and the row of
    metrics.csv (`record`: epoch, step, time_s, lr and the metrics)."""

    epoch: int
    row: dict
    record: dict


def record_metrics(tr: Trainer, end: EpochEnd) -> None:
    """Append the epoch's row to metrics.csv and to the history kept for summary.json."""
    tr.csv.append(end.record)
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
    """True once the monitored value has not improved for more than `patience` epochs."""
    es, st = tr.cfg.trainer.early_stopping, tr.state
    if es is None or es.monitor not in end.row:
        return False
    if _better(end.row[es.monitor], st.es_best, es.mode, es.min_delta):
        st.es_best = float(end.row[es.monitor])
        st.bad_epochs = 0
        return False
    st.bad_epochs += 1
    return st.bad_epochs > es.patience


def save_last(tr: Trainer, end: EpochEnd) -> None:
    """weights/last.safetensors and the training state that resuming continues from."""
    tr.save_last(end.epoch, end.row)


def log_epoch(tr: Trainer, end: EpochEnd) -> None:
    """One line of train.log."""
    tr.log(f"epoch {end.epoch}: " + ", ".join(
        f"{k} {v:.6g}" for k, v in end.record.items() if k != "epoch" and isinstance(v, float)))


def report_epoch(tr: Trainer, end: EpochEnd) -> None:
    """The `epoch_end` event for the callback."""
    tr.callback("epoch_end", **end.record, best_epoch=tr.state.best_epoch,
                best_value=tr.state.best_value)


EPOCH_END: tuple[Callable[..., bool | None], ...] = (
    record_metrics, check_weights, save_best, save_every, early_stopping, save_last, log_epoch,
    report_epoch,
)


def _better(value: float, best: float | None, mode: str | None,
            min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta
