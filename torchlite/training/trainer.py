"""The training loop behind `torchlite train`: fit, validate, checkpoint, stop early, resume.

It reports progress as events to a callback (the CLI renders them) and never prints. A run can
be interrupted at any step (SIGINT/SIGTERM: the step finishes, `last` and the training state are
saved) and resumed to the same weights, bit for bit on the CPU: the data order is a function of
(seed, epoch), and the RNG, optimizer, scheduler and loop counters are all in the saved state.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import torchlite
from torchlite.backend import OutOfMemoryError, to_host
from torchlite.errors import TorchliteError, TrainingDiverged, TrainingInterrupted
from torchlite.utils.data import DataLoader

from . import checkpoint as ckpt
from .actions import EPOCH_END, EpochEnd
from .background_writer import BackgroundWriter
from .device_metrics import DeviceAccumulator
from .interrupts import Signals
from .loader import ConfigError
from .metrics import MetricAccumulator
from .precision import Precision
from .preflight import check_resume
from .prepare import Prepared
from .run_guard import RunFolderError
from .runs import MetricsCSV, RunPaths, append_log, write_config, write_summary

__all__ = ["LoopState", "Trainer", "TrainingDiverged", "TrainingInterrupted", "evaluate"]


@dataclass
class LoopState:
    """Counters that make a resumed run continue exactly where it stopped."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    batch: int = 0  # batches done in the current (unfinished) epoch
    best_value: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0  # early stopping counter
    wall_s: float = 0.0
    samples: int = 0
    es_best: float | None = None  # early stopping's best monitored value
    partial: dict | None = None  # running sums of an interrupted epoch
    history: list = field(default_factory=list)
    scaler: dict = field(default_factory=dict)  # the GradScaler's state (16-mixed)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class Trainer:
    """Fits a prepared run (see `prepare`), writing everything into one run folder: each epoch
    is the train steps, then the actions of `actions` (default `actions.EPOCH_END`)."""

    signals: Callable = Signals  # what turns signals into the stop flag (a rank: agreed)

    def __init__(self, run: Prepared, paths: RunPaths, *, callback: Callable | None = None,
                 resume: bool = False, actions: Sequence[Callable] = EPOCH_END,
                 plots: bool = True) -> None:
        self.run = run
        self.cfg, self.device, self.data = run.cfg, run.device, run.data
        self.model, self.loss_fn = run.model, run.loss_fn
        if run.cfg.trainer.quantization is not None:  # QAT: the same Parameters, fake-quantized
            from .quantize import qat_model

            self.model = run.model = qat_model(run.model, run.cfg.trainer.quantization)
        self.optimizer, self.scheduler = run.optimizer, run.scheduler
        self.train_loader = run.train_loader
        self.paths = paths
        self.callback = callback or (lambda event, **info: None)
        self.resume = resume
        self.actions = list(actions)
        if run.cfg.trainer.quantization is not None:  # fake quantization from its start epoch
            from .quantize import QatSchedule

            self.actions.append(QatSchedule(run.cfg.trainer.quantization.fake_quant_start_epoch))
        self.plots = plots and run.cfg.output.plots  # plots/ at the end (see _write_plots)
        self.state = LoopState()
        self.metric_names = list(run.cfg.metrics)
        self.summary_extra: dict = {}  # more summary.json entries (threads, preprocessing, ...)
        self.precision = Precision(run.cfg.trainer.precision, run.device)
        self.precision.convert(self.model)  # (the -true modes and 64: weights in that dtype)
        # checkpoints and metrics.csv: written by a thread while the epochs train (see fit)
        self.files = BackgroundWriter()
        self._weights_bytes: tuple | None = None  # (epoch, step, row, bytes): best == last

    def _eval_loader(self, ds):
        size = self.cfg.data.eval_batch_size or self.cfg.data.batch_size
        return DataLoader(ds, batch_size=size, shuffle=False)

    def _restore(self) -> None:
        """Load the training state, with the weights saved in it (or, from a state file that
        predates them, `last`)."""
        saved = ckpt.load_training_state(self.paths.state)
        weights = saved.get("model")
        if weights is None:
            weights = torchlite.load(self.paths.last)
        try:
            self.model.load_state_dict(weights)
        except RuntimeError as exc:
            raise ConfigError([self.cfg.source.problem(
                ("model",), "the run's saved weights do not fit this model (did an override "
                "change it?): " + " ".join(str(exc).split()))]) from None
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.scheduler is not None and saved.get("scheduler") is not None:
            self.scheduler.load_state_dict(saved["scheduler"])
        self.state = LoopState(**saved["loop"])
        self.precision.load_state_dict(self.state.scaler)
        torchlite.set_rng_state(saved["rng"])

    # -- the loop -------------------------------------------------------------------------------
    def fit(self) -> dict:
        cfg = self.cfg
        if self.resume:
            self._restore()
            # nothing in the run folder has changed yet: a resume with nothing to do stops here
            check_resume(cfg, self.state, self.scheduler, self.run.steps_per_epoch)
        # on resume too: the run's config.yaml then holds the epochs and the other settings a
        # resume may change (check_resume_overrides), so a later resume continues from them
        write_config(self.paths, cfg.model_dump(mode="json"))
        # written now so that a disk that fills up later still has room for the failed status
        write_summary(self.paths, self._summary("running", "training"))
        self.csv = MetricsCSV(self.paths.metrics, cfg.metric_columns(),
                              resume_epoch=self.state.epoch if self.resume else None)
        n_params = sum(p.numel() for p in self.model.parameters())
        self.log(f"{'resume' if self.resume else 'start'}: run {self.paths.root}, device "
                  f"{self.device}, {n_params} parameters, seed {cfg.seed}, epochs "
                  f"{cfg.trainer.epochs}")
        self.callback("start", run_dir=str(self.paths.root), device=self.device,
                      parameters=n_params, seed=cfg.seed, epochs=cfg.trainer.epochs,
                      start_epoch=self.state.epoch, steps_per_epoch=len(self.train_loader),
                      resumed=self.resume)
        status, reason = "completed", "max_epochs"
        start = time.perf_counter() - self.state.wall_s
        with self.signals() as sig, contextlib.ExitStack() as scopes:
            self._signals = sig
            for action in self.actions:  # an action may keep something open for the run
                if hasattr(action, "run_scope"):
                    scopes.enter_context(action.run_scope(self))
            try:
                with self.files.background():  # ends once every file is on disk
                    while self.state.epoch < cfg.trainer.epochs:
                        stop = self._epoch(start)
                        if stop:
                            status, reason = "completed", "early_stopping"
                            break
            except TrainingInterrupted:
                status, reason = "interrupted", sig.stop or "interrupt"
            except TrainingDiverged as exc:
                status, reason = "diverged", str(exc)
            except OutOfMemoryError as exc:
                self._out_of_memory(exc, start)
            except OSError as exc:  # a full disk or quota, a read-only folder
                if isinstance(exc, TorchliteError):  # a refused link, say: its own message
                    raise
                self._write_failed(exc, start)
        self.state.wall_s = time.perf_counter() - start
        if status == "completed" and cfg.trainer.final_weights == "best" and \
                self.paths.best.exists():
            # the model object ends with the weights the run hands on (as best.safetensors)
            self.model.load_state_dict(torchlite.load(self.paths.best))
        if status == "completed":
            self._test_metrics()
        if status == "completed" and cfg.trainer.quantization is not None:
            from .quantize import finish_qat

            self.summary_extra["quantized"] = finish_qat(self)
        summary = self._summary(status, reason)
        write_summary(self.paths, summary)
        if self.plots and status != "interrupted" and self.state.history:
            self._write_plots()
        self.log(f"end: {status} ({reason})")
        self.callback("end", **summary)
        if status == "interrupted":
            raise TrainingInterrupted(reason)
        if status == "diverged":
            raise TrainingDiverged(reason)
        return summary

    def _out_of_memory(self, exc: OutOfMemoryError, start: float) -> NoReturn:
        """Record the failure (train.log, summary.json) and re-raise with where the weights are.
        Nothing is saved: the step may have stopped halfway, and `last` holds the last finished
        epoch (every file is replaced atomically, so it is whole)."""
        self.state.wall_s = time.perf_counter() - start
        if self.paths.last.exists():
            kept = (f"the weights of epoch {self.state.epoch} are kept in {self.paths.last} "
                    f"(continue with: torchlite train --resume {self.paths.root})")
        else:
            kept = "no epoch had finished, so no weights were saved"
        write_summary(self.paths, self._summary("failed", f"out of memory: {exc}"))
        self.log(f"end: failed (out of memory): {exc}; {kept}")
        raise OutOfMemoryError(f"{exc}; {kept}") from exc

    def _write_failed(self, exc: OSError, start: float) -> NoReturn:
        """Record that the run's files could not be written (see failed_run), and re-raise."""
        from .failed_run import record_write_failure, write_error_reason

        self.state.wall_s = time.perf_counter() - start
        reason = write_error_reason(exc)
        record_write_failure(self.paths, self._summary("failed", reason), reason)
        raise exc

    def _epoch(self, start: float) -> bool:
        """One epoch: the train steps, then the end-of-epoch actions. True: stop early."""
        epoch = self.state.epoch + 1
        row, t0 = self._train_epoch(epoch, start)
        end = self._epoch_end(epoch, row, t0)
        stop = False
        for action in self.actions:
            stop = bool(action(self, end)) or stop
        self.files.commit()  # the epoch's files, written in the background as one group
        self._weights_bytes = None
        if self._signals.stop:
            raise TrainingInterrupted(self._signals.stop)
        return stop

    def _train_epoch(self, epoch: int, start: float) -> tuple[dict, float]:
        """The train steps of one epoch (continuing an interrupted one): its train/ metrics
        and when it started."""
        cfg, st = self.cfg, self.state
        self.model.train()
        self.train_loader.set_epoch(st.epoch)
        acc = MetricAccumulator(self.metric_names, self.data.task, self.data.num_classes)
        loss_sum, loss_n = None, 0
        if st.partial is not None:  # resuming inside this epoch: continue its running sums
            loss_sum, loss_n = st.partial["loss_sum"], st.partial["loss_n"]
            acc.load_state_dict(st.partial["metrics"])
            st.partial = None
        n_batches = len(self.train_loader)
        # on a GPU the metric sums stay on the device (read once per epoch): a step never waits
        dev_acc = DeviceAccumulator(acc) if _accumulate_on_device(self.device) else None
        self.callback("epoch_start", epoch=epoch, batches=n_batches)
        t0 = time.perf_counter()
        for i, (x, y) in enumerate(self.train_loader):
            if i < st.batch:  # resuming inside an epoch: these batches were already trained
                continue
            x, y = x.to(self.device), y.to(self.device)
            # the optimizer steps every accumulate_grad_batches batches and after the last one
            stepped = (i + 1) % cfg.trainer.accumulate_grad_batches == 0 or i + 1 == n_batches
            out, loss = self._train_step(x, y, stepped)
            st.batch = i + 1
            st.samples += x.shape[0]
            lv = loss.detach()._data
            loss_sum = lv if loss_sum is None else loss_sum + lv
            loss_n += 1
            if dev_acc is not None:
                dev_acc.update(out.detach()._data, y._data)
            else:
                acc.update(out.detach()._data, y._data)
            if self.device == "cpu" or (i + 1) % cfg.trainer.log_every_n_steps == 0:
                self._check_finite(float(lv), epoch)
            if (i + 1) % cfg.trainer.log_every_n_steps == 0 or i + 1 == n_batches:
                self.callback("step", epoch=epoch, batch=i + 1, batches=n_batches, step=st.step,
                              loss=float(lv), lr=self.lr(),
                              samples_per_s=st.samples / max(time.perf_counter() - start, 1e-9))
            # a stop waits for the optimizer step: gradients accumulated since the last one are
            # not part of the saved state, so a resume starts at a step boundary
            if self._signals.stop and stepped:
                if dev_acc is not None:
                    dev_acc.flush()
                st.partial = {"loss_sum": float(loss_sum), "loss_n": loss_n,
                              "metrics": acc.state_dict()}
                self.save_last(epoch - 1, {})
                raise TrainingInterrupted(self._signals.stop)
        if dev_acc is not None:
            dev_acc.flush()
        row = self._train_row(loss_sum, loss_n, acc)
        self._check_finite(row["train/loss"], epoch)
        return row, t0

    def _train_row(self, loss_sum, loss_n: int, acc: MetricAccumulator) -> dict:
        """The epoch's train/ metrics from the running sums (a rank reduces them first)."""
        train_loss = float(loss_sum) / max(loss_n, 1) if loss_sum is not None else float("nan")
        row = {"train/loss": train_loss}
        row.update({f"train/{k}": v for k, v in acc.compute().items() if k != "loss"})
        return row

    def _train_step(self, x, y, step: bool) -> tuple:
        """One batch: forward, backward (gradients accumulate over accumulate_grad_batches
        batches) and, when `step`, the optimizer step. Returns the output and the loss."""
        accum = self.cfg.trainer.accumulate_grad_batches
        with self.precision.autocast():
            out = self.run.forward(x)  # a custom model checked in eval mode may fail in training
            loss = self.loss_fn(out, y)
        self.precision.backward(loss / accum if accum > 1 else loss)
        if step:
            self._optimizer_step()
        return out, loss

    def _epoch_end(self, epoch: int, row: dict, t0: float) -> EpochEnd:
        """Validate, count the epoch as done and step an epoch-wise scheduler: the epoch's
        metrics and its metrics.csv row (lr as the epoch trained with it)."""
        cfg, st = self.cfg, self.state
        if self.data.val is not None and cfg.has_val:
            with self.precision.autocast():
                val = evaluate(self.model, self.loss_fn, self._eval_loader(self.data.val),
                               self.device, self.metric_names, self.data.task,
                               self.data.num_classes)
            row.update({f"val/{k}": v for k, v in val.items()})
        st.epoch, st.batch = epoch, 0
        lr = self.lr()
        self._scheduler_epoch_step(row)
        record = {"epoch": epoch, "step": st.step, "time_s": time.perf_counter() - t0,
                  "lr": lr, **row}
        return EpochEnd(epoch, row, record)

    def _optimizer_step(self) -> None:
        tc = self.cfg.trainer
        if tc.grad_clip is not None:
            self.precision.unscale(self.optimizer)
            if tc.grad_clip_algorithm == "norm":
                torchlite.nn.utils.clip_grad_norm_(self.model.parameters(), tc.grad_clip)
            else:
                torchlite.nn.utils.clip_grad_value_(self.model.parameters(), tc.grad_clip)
        self.precision.step(self.optimizer)
        self.optimizer.zero_grad(set_to_none=True)
        self.state.step += 1
        if self.scheduler is not None and self.cfg.scheduler.interval == "step":
            self.scheduler.step()

    def _scheduler_epoch_step(self, row: dict) -> None:
        s = self.cfg.scheduler
        if self.scheduler is None or s.interval != "epoch":
            return
        if s.type == "ReduceLROnPlateau":
            self.scheduler.step(row[s.monitor])
        else:
            self.scheduler.step()

    def lr(self) -> float:
        """The learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    def _check_finite(self, value: float, epoch: int) -> None:
        if not math.isfinite(value):
            if self.files.exists(self.paths.last):
                kept = f"; the weights of the last finite epoch are kept in {self.paths.weights}"
            else:
                kept = "; no epoch had finished, so no weights were saved"
            raise TrainingDiverged(
                f"loss became {value} at epoch {epoch}, step {self.state.step}, lr "
                f"{self.lr():.6g}{kept} (try a lower learning rate or trainer.grad_clip)"
            )

    # -- files ----------------------------------------------------------------------------------
    def save_weights(self, path, epoch: int, row: dict) -> None:
        """The model's weights with the config, epoch, metrics and preprocessing."""
        key = self._weights_bytes
        if key is None or key[:2] != (epoch, self.state.step) or key[2] is not row:
            data = ckpt.weights_file(self.model, self.cfg, epoch, row, self.data.preprocess)
            key = self._weights_bytes = (epoch, self.state.step, row, data)
        self.files.write(path, key[3])  # (best and last of one epoch: serialised once)

    def save_last(self, epoch: int, row: dict) -> None:
        """`last` and the training state beside it (what resuming continues from)."""
        self.save_weights(self.paths.last, epoch, row)
        self.state.scaler = self.precision.state_dict()
        self.files.write(self.paths.state, ckpt.training_state_file(
            self.optimizer, self.scheduler, self.state, self.model))

    def _summary(self, status: str, reason: str) -> dict:
        st = self.state
        return {
            "status": status, "stop_reason": reason, "epochs_completed": st.epoch,
            "steps": st.step, "best_epoch": st.best_epoch, "best_value": st.best_value,
            "monitor": self.cfg.trainer.checkpoint.monitor, "wall_time_s": round(st.wall_s, 3),
            "samples_per_s": st.samples / st.wall_s if st.wall_s > 0 else None,
            "device": self.device, "run_dir": str(self.paths.root),
            "best": str(self.paths.best) if self.paths.best.exists() else None,
            "last": str(self.paths.last) if self.paths.last.exists() else None,
            "final_metrics": st.history[-1] if st.history else {},
            "final_weights": self._final_weights_path(),
            **self._early_stopping_summary(), **self.summary_extra,
        }

    def _early_stopping_summary(self) -> dict:
        es = self.cfg.trainer.early_stopping
        if es is None:
            return {"early_stopping": None}
        return {"early_stopping": {
            "monitor": es.monitor, "mode": es.mode, "patience": es.patience,
            "min_delta": es.min_delta, "best_value": self.state.es_best,
            "epochs_without_improvement": self.state.bad_epochs}}

    def _test_metrics(self) -> None:
        """Evaluate the final weights on the test split, when the data has one (summary.json's
        `test_metrics`, and the `test` event)."""
        if self.data.test is None:
            return
        with self.precision.autocast():
            values = evaluate(self.model, self.loss_fn, self._eval_loader(self.data.test),
                              self.device, self.metric_names, self.data.task,
                              self.data.num_classes)
        test = {f"test/{k}": v for k, v in values.items()}
        self.summary_extra["test_metrics"] = test
        self.log("test: " + ", ".join(f"{k} {v:.6g}" for k, v in test.items()))
        self.callback("test", metrics=test, samples=len(self.data.test))

    def _final_weights_path(self) -> str | None:
        """trainer.final_weights: the checkpoint that eval/infer use when given the run folder."""
        prefer = self.paths.best if self.cfg.trainer.final_weights == "best" else self.paths.last
        for p in (prefer, self.paths.last):
            if p.exists():
                return str(p)
        return None

    def _write_plots(self) -> None:
        """plots/ from metrics.csv and summary.json. The run's outcome does not depend on it:
        without matplotlib, or when a picture cannot be written, the `plots` event says why."""
        from . import plots

        files, skipped = [], None
        try:
            files = [str(p) for p in plots.write_run_plots(self.paths.root)]
        except plots.PlotsUnavailableError:
            skipped = f"plots skipped: {plots.PLOT_EXTRA}"
        except (OSError, RunFolderError) as exc:
            skipped = f"plots not written: {exc}"
        self.log(skipped or f"plots: {len(files)} files in {self.paths.plots}")
        self.callback("plots", files=files, skipped=skipped)

    def log(self, message: str) -> None:
        """One line of train.log."""
        append_log(self.paths.log, message)


def _accumulate_on_device(device) -> bool:
    """Whether losses and metrics are summed on the device (a GPU) rather than on the host."""
    return str(device) != "cpu"


def evaluate(model, loss_fn, loader, device: str, metrics, task: str,
             num_classes: int | None) -> dict[str, Any]:
    """Mean loss and metrics of `model` over `loader` (eval mode, no graph).

    On a GPU the loss and metric sums stay on the device and are read once at the end.
    """
    was_training = model.training
    model.eval()
    acc = MetricAccumulator(metrics, task, num_classes)
    dev_acc = DeviceAccumulator(acc) if _accumulate_on_device(device) else None
    total, n = 0.0, 0
    with torchlite.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss = loss_fn(out, y)
            if dev_acc is not None:
                dev_acc.update(out._data, y._data, loss=loss._data)
                continue
            b = x.shape[0]
            total += float(loss) * b
            n += b
            acc.update(to_host(out._data), to_host(y._data))
    model.train(was_training)
    if dev_acc is not None:
        dev_acc.flush()
        total, n = acc._loss_sum, acc._loss_n
    values = {"loss": total / max(n, 1)}
    values.update({k: v for k, v in acc.compute().items() if k != "loss"})
    return values
