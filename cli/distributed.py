"""`torchlite train --nproc N`: start N ranks of the same command through mpirun, and keep
ranks other than 0 quiet (rank 0 speaks for the run).

The ranks run `python -m torchlite_cli` with the same arguments, less --nproc, each with
OMP_NUM_THREADS set to its share of the CPUs unless the user set it.
"""

from __future__ import annotations

import os
import sys
import tempfile

import typer

from . import ctrl_c_raises, display

NPROC_HELP = ("Train on N processes (ranks) started with mpirun: data.batch_size is per rank, "
              "the global batch N times it (needs the mpi extra).")


def _rank() -> tuple[int, int] | None:
    from torchlite.distributed.launcher import mpi_environment

    env = mpi_environment()
    return None if env is None else (env[0], env[1])


def several_ranks() -> bool:
    """True in a rank of an MPI launch of more than one process."""
    found = _rank()
    return found is not None and found[1] > 1


def secondary_rank() -> bool:
    """True in a rank other than 0 of an MPI launch (which prints nothing of the run)."""
    found = _rank()
    return found is not None and found[0] != 0


def quiet_error(exc: BaseException) -> bool:
    """Whether this rank leaves `exc` to rank 0: every rank meets an interrupt or divergence at
    the same step, and a peer's failure is reported by rank 0."""
    if not secondary_rank():
        return False
    from torchlite.errors import TrainingDiverged, TrainingInterrupted
    from torchlite.training.distributed import PeerRankFailed

    return isinstance(exc, (TrainingInterrupted, TrainingDiverged, PeerRankFailed,
                            KeyboardInterrupt))


def end_job_if_alone(exc: BaseException, code: int) -> None:
    """A distributed rank stopped by an error of its own ends the whole job (see
    torchlite.training.distributed.end_job_if_alone); elsewhere nothing happens."""
    if _rank() is None:
        return
    from torchlite.training.distributed import end_job_if_alone as end

    end(exc, code)


def error_prefix() -> str:
    found = _rank()
    return f"rank {found[0]}: " if found is not None and found[0] != 0 else ""


def relaunch(nproc: int | None) -> None:
    """With --nproc N > 1 outside an MPI launch: run this command as N ranks and exit with
    their status. Inside one, N must be the number of ranks."""
    if nproc is None:
        return
    found = _rank()
    if found is not None:
        if nproc != found[1]:
            display.error(f"--nproc {nproc} does not match the {found[1]} ranks mpirun started")
            raise typer.Exit(2)
        return
    if nproc == 1:
        return
    from torchlite.distributed.launcher import launch
    from torchlite.distributed.mpi import MPIUnavailableError
    from torchlite.training.distributed import STOP_FILE_ENV

    ctrl_c_raises()  # the launcher passes Ctrl-C on to the ranks
    argv = _without_nproc(sys.argv[1:])
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    with tempfile.TemporaryDirectory(prefix="torchlite-launch-") as tmp:
        stop = os.path.join(tmp, "stop")
        env[STOP_FILE_ENV] = stop
        try:
            code = launch(nproc, [sys.executable, "-m", "torchlite_cli", *argv], env=env,
                          stop_file=stop)
        except MPIUnavailableError as exc:
            display.error(str(exc))
            raise typer.Exit(2) from None
    raise typer.Exit(code)


def _without_nproc(args: list[str]) -> list[str]:
    out, skip = [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "--":
            out.extend(args[i:])
            break
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        out.append(a)
    return out
