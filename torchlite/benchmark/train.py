"""Suite `train`: whole training jobs as users run them, split into phases.

Each row is one job from a shipped config, start to end: torchlite runs it through the same path
as `torchlite train CONFIG` (load and validate the config, prepare, run folder, the trainer with
its validation, checkpoints, logs and progress events; no plots); PyTorch and the floor run the
same job as a plain loop a user would write (see train_plain.py). One step is the whole job, and
its time is split into phases (start-up, data, forward, backward, optimizer, metrics,
checkpointing, display, other), reported per framework as `phases` beside the row's times.

Rows: `mnist_mlp` (configs/mnist_mlp.yaml on synthetic MNIST-format IDX files of 5,000 images,
20 epochs), `digits_mlp` (configs/digits_mlp.yaml as shipped, early stopping off so every
framework trains the same epochs) and `mnist_lenet` (configs/mnist_lenet.yaml on 2,000 synthetic
images, 2 epochs). `--quick` shrinks the data and runs one epoch. The frameworks must agree on the
work done (samples trained, epochs, validation and test sizes), not on the losses: dropout draws
differ between frameworks.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ._common import SEED, Env, RowSpec

REPEAT, WARMUP, BLOCK, SETTLE = 3, 0, 1, 0.15
PHASES = ("start-up", "data", "forward", "backward", "optimizer", "metrics", "checkpointing",
          "display", "other")
# name: config, synthetic MNIST images (train, test; None: the config's own data), epochs
JOBS = {
    "mnist_mlp": ("mnist_mlp.yaml", (5000, 1000), 20),
    "digits_mlp": ("digits_mlp.yaml", None, 30),
    "mnist_lenet": ("mnist_lenet.yaml", (2000, 500), 2),
}
QUICK_IMAGES, QUICK_EPOCHS = (256, 64), 1


def config_dir() -> Path:
    """The shipped configs/ folder (next to the package in a checkout or editable install)."""
    return Path(__file__).resolve().parents[2] / "configs"


def rows(quick: bool = False) -> list[RowSpec]:
    out = []
    for name, (config, images, epochs) in JOBS.items():
        if quick:
            images = images and QUICK_IMAGES
            epochs = QUICK_EPOCHS
        data = f"synthetic MNIST {images[0]:,}+{images[1]:,} images" if images else "as shipped"
        desc = (f"whole job `torchlite train configs/{config}` ({data}, {epochs} epochs) vs the "
                "same job as a plain loop; phases: " + ", ".join(PHASES))
        out.append(RowSpec("train", name, desc, {"config": config, "images": images,
                                                 "epochs": epochs, "seed": SEED}))
    return out


class Phases:
    """Seconds per phase of one job; a phase timed inside another is not counted twice."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self._stack: list[list[float]] = []  # [start, seconds of nested phases]
        self.start = time.perf_counter()

    clock = staticmethod(time.perf_counter)

    def add(self, **seconds: float) -> None:
        """Time measured by the caller (per-step timers are cheaper than nested begin/end)."""
        for phase, dt in seconds.items():
            self.seconds[phase] += dt

    def begin(self) -> None:
        self._stack.append([time.perf_counter(), 0.0])

    def end(self, phase: str) -> None:
        t0, nested = self._stack.pop()
        dt = time.perf_counter() - t0
        self.seconds[phase] += dt - nested
        if self._stack:
            self._stack[-1][1] += dt

    def timed(self, phase: str, fn, *args, **kwargs):
        self.begin()
        try:
            return fn(*args, **kwargs)
        finally:
            self.end(phase)

    def finish(self) -> dict[str, float]:
        total = time.perf_counter() - self.start
        self.seconds["other"] = max(total - sum(self.seconds.values()), 0.0)
        return dict(self.seconds)


def write_idx(folder: Path, images: tuple[int, int], seed: int) -> None:
    """Synthetic MNIST: random 28x28 uint8 images and labels in the four IDX files."""
    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "t10k"), images):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{split}-images-idx3-ubyte").write_bytes(
            bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in x.shape) + x.tobytes())
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + y.tobytes())


class _TimedLoader:
    """The trainer's DataLoader, timing each batch it hands out."""

    def __init__(self, loader, phases: Phases) -> None:
        self.loader, self.phases = loader, phases

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def __iter__(self):
        it = iter(self.loader)
        while True:
            self.phases.begin()
            try:
                batch = next(it)
            except StopIteration:
                self.phases.end("data")
                return
            self.phases.end("data")
            yield batch


def _timed_action(action, phases: Phases):
    def run(trainer, end):
        return phases.timed("checkpointing", action, trainer, end)

    run.__name__ = getattr(action, "__name__", "action")
    if hasattr(action, "run_scope"):
        setattr(run, "run_scope", action.run_scope)  # noqa: B010 (a function attribute)
    return run


def _display(out: list):
    """A progress callback of the plain-text kind the CLI draws: one formatted line per event."""
    def callback(event: str, **info) -> None:
        out.append(f"{event}: " + ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items()))
        del out[:-100]
    return callback


class TorchliteJob:
    """The job through torchlite's own training path, with a timer in each phase."""

    def __init__(self, env: Env, params: dict, folder: Path) -> None:
        from torchlite.training.trainer import Trainer

        self.env, self.params, self.folder = env, params, folder
        self.phases: dict[str, float] = {}
        self.samples = 0
        clock = time.perf_counter

        class TimedTrainer(Trainer):
            """The trainer with forward, backward, optimizer and metrics timed apart."""

            timer: Phases

            def _train_step(self, x, y, step: bool) -> tuple:
                ph = self.timer
                t0 = clock()
                with self.precision.autocast():
                    out = self.run.forward(x)
                    loss = self.loss_fn(out, y)
                t1 = clock()
                self.precision.backward(loss)
                t2 = clock()
                if step:
                    self._optimizer_step()
                t3 = clock()
                ph.add(forward=t1 - t0, backward=t2 - t1, optimizer=t3 - t2)
                return out, loss

            def _epoch_end(self, epoch, row, t0):
                return self.timer.timed("metrics", super()._epoch_end, epoch, row, t0)

            def _test_metrics(self) -> None:
                self.timer.timed("metrics", super()._test_metrics)

        self.trainer_class = TimedTrainer

    def overrides(self) -> list[str]:
        p = self.params
        out = [f"trainer.epochs={p['epochs']}", "trainer.early_stopping=null",
               f"device={self.env.device}", "output.plots=false", f"seed={p['seed']}",
               f"output.root={self.folder / 'runs'}"]
        if p["images"]:
            out.append(f"data.path={self.folder / 'mnist'}")
        return out

    def step(self) -> None:
        from torchlite.training.config import load_config
        from torchlite.training.prepare import prepare
        from torchlite.training.runs import open_run_dir

        ph = Phases()
        lines: list[str] = []
        ph.begin()
        cfg, _ = load_config(str(config_dir() / self.params["config"]), self.overrides())
        if cfg.trainer.accumulate_grad_batches != 1:
            raise ValueError("the train suite times one optimizer step per batch")
        run = prepare(cfg, device=self.env.device)
        shutil.rmtree(self.folder / "runs", ignore_errors=True)
        with open_run_dir(cfg.output.root, cfg.name) as paths:
            display = _display(lines)
            tr = self.trainer_class(run, paths, plots=False,
                                    callback=lambda event, **info: ph.timed(
                                        "display", display, event, **info))
            tr.timer = ph
            tr.train_loader = _TimedLoader(tr.train_loader, ph)
            tr.actions = [_timed_action(a, ph) for a in tr.actions]
            # the checkpoints are written in the background: waiting for the last ones to be
            # on disk, at the end of the loop, is checkpointing too
            files_wait = tr.files.wait
            tr.files.wait = lambda: ph.timed("checkpointing", files_wait)
            ph.end("start-up")
            tr.fit()
        self.samples = tr.state.samples
        self.epochs = tr.state.epoch
        self.phases = ph.finish()

    def check(self) -> dict[str, float]:
        self.step()
        return {"samples trained": float(self.samples), "epochs": float(self.epochs)}


def build(env: Env, params: dict):
    folder = Path(tempfile.mkdtemp(prefix="torchlite-bench-train-"))
    atexit.register(shutil.rmtree, folder, True)
    if params["images"]:
        (folder / "mnist").mkdir()
        write_idx(folder / "mnist", tuple(params["images"]), params["seed"])
    if env.framework in ("torchlite", "profiled"):
        return TorchliteJob(env, params, folder)
    from .train_plain import PlainJob

    return PlainJob(env, params, folder, config_dir() / params["config"])
