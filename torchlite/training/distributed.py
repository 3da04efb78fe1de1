"""Training over several ranks (`torchlite train --nproc N`, or `mpirun -n N torchlite train`).

Each rank is a process started by MPI running the same command. They build the same run from
the same config and seed; DistributedDataParallel averages the gradients, every BatchNorm
becomes a SyncBatchNorm (so N ranks with batch B train as one process with batch N*B), and a
DistributedSampler gives each rank its share of the training data. `data.batch_size` is per
rank. Rank 0 alone writes the run folder and reports to the display; the other ranks write into
a private temporary folder that is removed at the end. Train metrics are reduced across ranks;
validation and test run whole on every rank, so they agree without communication.

Ranks agree at every point where one of them could stop alone: after building the run (a bad
file on one rank), at each step (Ctrl-C, a non-finite loss), so they stop together and rank 0
saves `last` once. An error only one rank meets mid-run ends that rank with a non-zero status,
and mpirun then stops the others.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from torchlite.errors import TorchliteError, TrainingDiverged, TrainingInterrupted

from .interrupts import Signals
from .loader import ConfigError
from .runs import RunPaths
from .trainer import Trainer

__all__ = ["DistributedSession", "LocalSession", "PeerRankFailed", "session",
           "check_resume_world", "distributed_sampler", "end_job_if_alone", "STOP_FILE_ENV"]

STOP_FILE_ENV = "TORCHLITE_STOP_FILE"  # the launcher creates this file on Ctrl-C
TIMEOUT_ENV = "TORCHLITE_DIST_TIMEOUT"  # seconds a collective may wait (default 300)
# exceptions every rank raises at the same step (they agree on them first): the ranks finish
# together; any other exception is one rank's alone and ends the job
_COLLECTIVE = (TrainingInterrupted, TrainingDiverged)


class PeerRankFailed(TorchliteError, RuntimeError):
    """Another rank failed; this one stops too (that rank reports the reason)."""


class LocalSession:
    """One process: every hook is the plain single-process behaviour."""

    world_size = 1
    rank = 0

    def together(self, what: str) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def run_dir(self, open_dir: Callable, resume_from: Path | None = None
                ) -> Iterator[RunPaths]:
        with open_dir() as paths:
            yield paths

    def device_for(self, cfg: Any) -> str | None:
        """The device to build the run on (None: the config's)."""
        return None

    def trainer(self, run: Any, paths: RunPaths, **kwargs: Any) -> Trainer:
        return Trainer(run, paths, **kwargs)


def session() -> LocalSession:
    """The session of this process: distributed when an MPI launcher started more than one
    rank (the process group is initialised here), else local."""
    from torchlite.distributed.launcher import mpi_environment

    env = mpi_environment()
    if env is None or env[1] < 2:
        return LocalSession()
    import torchlite.distributed as dist

    if not dist.is_initialized():
        seconds = float(os.environ.get(TIMEOUT_ENV, "300"))
        dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=seconds))
    return DistributedSession()


def end_job_if_alone(exc: BaseException, code: int) -> None:
    """In a distributed run, end the whole job now (MPI_Abort with `code`) when `exc` stops
    this rank alone: its peers wait in a collective, and a normal exit would wait for them in
    MPI's finalisation. Errors every rank meets together (agreed, interrupts, divergence) let
    the ranks finish normally."""
    import sys

    if "torchlite.distributed.process_group" not in sys.modules:
        return
    import torchlite.distributed as dist

    if not dist.is_initialized() or dist.get_world_size() < 2:
        return
    if isinstance(exc, (*_COLLECTIVE, PeerRankFailed)) or getattr(exc, "_torchlite_agreed",
                                                                  False):
        return
    sys.stderr.flush()
    dist.GroupMember.WORLD.transport.abort(code)


def distributed_sampler(cfg: Any, dataset: Any):
    """The training data's DistributedSampler in a distributed run (None otherwise)."""
    import torchlite.distributed as dist

    if not dist.is_initialized() or dist.get_world_size() < 2:
        return None
    from torchlite.utils.data import DistributedSampler

    return DistributedSampler(dataset, shuffle=cfg.data.shuffle, seed=cfg.seed,
                              drop_last=cfg.data.drop_last)


def check_resume_world(paths: RunPaths, world_size: int) -> None:
    """Refuse to resume a run with another number of ranks than it trained with."""
    import json

    try:
        summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    info = summary.get("distributed") if isinstance(summary, dict) else None
    trained = int(info.get("world_size", 1)) if isinstance(info, dict) else 1
    if trained != world_size:
        per_rank = info.get("batch_size_per_rank") if isinstance(info, dict) else None
        how = f"--nproc {trained}" if trained > 1 else "a single process (no --nproc)"
        batch = f" with batch {per_rank} per rank" if per_rank else ""
        raise ConfigError(
            f"{paths.root}: this run trained on {trained} rank(s){batch}; resuming it on "
            f"{world_size} would change the data order and the global batch: resume it with "
            f"{how}"
        )


class _DistributedSignals(Signals):
    """The trainer's stop flag, agreed by all ranks each time it is read (once per step): a
    signal on one rank, or the launcher's stop file, stops every rank at the same step."""

    def __init__(self, sess: DistributedSession) -> None:
        super().__init__()
        self._sess = sess
        self._local: str | None = None
        self._file = os.environ.get(STOP_FILE_ENV)

    def _handle(self, signum, frame) -> None:
        if self._local is not None:
            raise KeyboardInterrupt
        self._local = signal.Signals(signum).name

    @property  # type: ignore[override]
    def stop(self) -> str | None:
        if self._local is None and self._file and os.path.exists(self._file):
            self._local = "SIGINT"
        flag = self._sess.any_rank(self._local is not None)
        if flag and self._local is None:
            self._local = "SIGINT"
        return self._local if flag else None

    @stop.setter
    def stop(self, value) -> None:
        self._local = value


class _DistributedTrainer(Trainer):
    """The trainer of one rank: stop and divergence decided together, train metrics reduced."""

    def __init__(self, *args: Any, session: DistributedSession, info: dict,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sess = session
        self._info = info
        self.signals = lambda: _DistributedSignals(session)

    def fit(self) -> dict:
        i = self._info
        self.summary_extra["distributed"] = i
        self.callback("distributed", **i)
        self.log(f"distributed: {i['world_size']} ranks ({i['backend']}), batch "
                 f"{i['batch_size_per_rank']} per rank, global batch {i['global_batch_size']}")
        return super().fit()

    def _check_finite(self, value: float, epoch: int) -> None:
        if self._sess.any_rank(not np.isfinite(value)):
            super()._check_finite(float("nan") if np.isfinite(value) else value, epoch)

    def _train_row(self, loss_sum, loss_n: int, acc) -> dict:
        import torchlite.distributed as dist

        local = {"loss_sum": None if loss_sum is None else float(loss_sum), "loss_n": loss_n,
                 "acc": acc.state_dict()}
        parts: list = [None] * self._sess.world_size
        dist.all_gather_object(parts, local)
        total = sum(p["loss_sum"] for p in parts if p["loss_sum"] is not None)
        count = sum(p["loss_n"] for p in parts)
        _merge_metrics(acc, [p["acc"] for p in parts])
        return super()._train_row(total if count else None, count, acc)


def _merge_metrics(acc, states: list[dict]) -> None:
    """Load into `acc` the sums of every rank's accumulator state (in rank order)."""
    from .metrics import combine_regression

    merged = dict(states[0])
    cms = [np.asarray(s["cm"], dtype=np.int64) for s in states if s["cm"]]
    if cms:
        size = max(c.shape[0] for c in cms)
        cm = np.zeros((size, size), dtype=np.int64)
        for c in cms:
            cm[:c.shape[0], :c.shape[1]] += c
        merged["cm"] = cm.tolist()
    merged["n"] = sum(s["n"] for s in states)
    merged["_loss_sum"] = sum(s["_loss_sum"] for s in states)
    merged["_loss_n"] = sum(s["_loss_n"] for s in states)
    hits: dict[int, int] = {}
    for s in states:
        for k, v in s["topk_hits"]:
            hits[int(k)] = hits.get(int(k), 0) + int(v)
    merged["topk_hits"] = [[k, v] for k, v in hits.items()]
    sums, n = None, 0
    for s in states:
        if s["_sse"] is None or not s["n"]:
            continue
        part = tuple(np.asarray(s[k], dtype=np.float64) for k in ("_sse", "_sae", "_mean", "_m2"))
        sums, n = combine_regression(sums, n, part, s["n"]), n + s["n"]
    if sums is not None:
        for k, v in zip(("_sse", "_sae", "_mean", "_m2"), sums):
            merged[k] = v.tolist()
    acc.load_state_dict(merged)


class DistributedSession(LocalSession):
    """This process as one rank of the default process group."""

    def __init__(self) -> None:
        import torchlite.distributed as dist
        from torchlite.distributed.launcher import mpi_environment

        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        env = mpi_environment()
        self.local_rank = env[2] if env is not None else self.rank
        self._flag = np.zeros(1, dtype=np.int32)

    def device_for(self, cfg: Any) -> str | None:
        """One GPU per rank: `cuda` (or `auto` on a GPU machine) becomes cuda:<local rank>
        (modulo the GPUs present); an explicit cuda:N or cpu stays."""
        from .build import resolve_device

        device = resolve_device(cfg.device)
        if device != "cuda":
            return device
        import torchlite

        return f"cuda:{self.local_rank % max(torchlite.cuda.device_count(), 1)}"

    def any_rank(self, flag: bool) -> bool:
        """Whether `flag` is true on any rank (every rank must call this at the same point)."""
        import torchlite
        import torchlite.distributed as dist

        self._flag[0] = 1 if flag else 0
        dist.all_reduce(torchlite.from_numpy(self._flag), op=dist.ReduceOp.MAX)
        return bool(self._flag[0])

    @contextlib.contextmanager
    def together(self, what: str) -> Iterator[None]:
        """Run the block on every rank, then agree: when it raised somewhere, rank 0 raises its
        own error or PeerRankFailed naming the failed rank and its message; the other ranks
        raise their own error, or a quiet PeerRankFailed when rank 0 failed too (rank 0 says
        why). Nobody waits in a collective for a rank that left."""
        import torchlite.distributed as dist

        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:  # noqa: BLE001 - raised again below, after agreeing
            error = exc
        mine = None if error is None else [int(getattr(error, "exit_code", 1)),
                                           f"{type(error).__name__}: {error}"
                                           if not isinstance(error, TorchliteError)
                                           else str(error)]
        reports: list = [None] * self.world_size
        dist.all_gather_object(reports, mine)
        failed = [r for r, rep in enumerate(reports) if rep is not None]
        if not failed:
            return
        if error is not None:
            error._torchlite_agreed = True  # type: ignore[union-attr]  # every rank is leaving
        if error is not None and (self.rank == 0 or reports[0] is None):
            raise error
        first = failed[0]
        peer = PeerRankFailed(f"rank {first} failed while {what}: {reports[first][1]}")
        peer.exit_code = reports[first][0]
        raise peer from error

    @contextlib.contextmanager
    def run_dir(self, open_dir: Callable, resume_from: Path | None = None
                ) -> Iterator[RunPaths]:
        """Rank 0 opens (and locks) the run folder; the others work in a private temporary
        folder, holding a copy of the run's files when resuming."""
        stack = contextlib.ExitStack()
        tmp = None if self.rank == 0 else Path(tempfile.mkdtemp(
            prefix=f"torchlite-rank{self.rank}-"))
        try:
            with self.together("opening the run folder"):
                if tmp is None:
                    paths = stack.enter_context(open_dir())
            with self.together("copying the run folder"):
                if tmp is not None:
                    paths = self._private_copy(tmp, resume_from)
            try:
                yield paths
            except _COLLECTIVE:
                self._finish()
                raise
            self._finish()
        finally:
            stack.close()
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _private_copy(tmp: Path, resume_from: Path | None) -> RunPaths:
        root = tmp / "run"
        if resume_from is not None:
            shutil.copytree(resume_from, root,
                            ignore=shutil.ignore_patterns("plots", "eval", ".*"))
        else:
            root.mkdir()
        (root / "weights").mkdir(exist_ok=True)
        return RunPaths(root)

    def _finish(self) -> None:
        """Every rank waits here before exiting, so none ends the job while rank 0 writes."""
        import torchlite.distributed as dist

        dist.barrier()

    def trainer(self, run: Any, paths: RunPaths, **kwargs: Any) -> Trainer:
        """The rank's trainer: SyncBatchNorm, DistributedDataParallel around the model (the
        checkpoints keep the model's own keys), the display on rank 0 only."""
        import torchlite.distributed as dist
        import torchlite.nn as nn
        from torchlite.nn.parallel import DistributedDataParallel

        # on GPUs the gradients and statistics go over NCCL (not yet run on GPUs); the ranks'
        # agreements and metrics stay on MPI
        group = None
        if str(run.device).startswith("cuda") and dist.is_nccl_available():
            group = dist.new_group(backend="nccl")
        model = nn.SyncBatchNorm.convert_sync_batchnorm(run.model, group)
        run.model = model
        ddp = DistributedDataParallel(model, process_group=group)
        if self.rank != 0:
            kwargs["callback"] = None
            kwargs["plots"] = False
        per_rank = run.cfg.data.batch_size
        info = {"backend": "mpi" if group is None else "nccl", "world_size": self.world_size,
                "batch_size_per_rank": per_rank, "global_batch_size": per_rank * self.world_size}
        trainer = _DistributedTrainer(replace(run, model=ddp), paths, session=self, info=info,
                                      **kwargs)
        trainer.model = model  # checkpoints, eval and train()/eval() use the model itself
        return trainer
