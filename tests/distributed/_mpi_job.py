"""Run a worker script as real MPI ranks (skipping where the mpi extra is missing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).resolve().parent / "workers"


def require_mpi() -> None:
    pytest.importorskip("mpi4py", reason="needs the mpi extra: pip install 'torchlite[mpi]'")
    from torchlite.distributed.launcher import find_mpirun
    from torchlite.distributed.mpi import MPIUnavailableError

    try:
        find_mpirun()
    except MPIUnavailableError as exc:
        pytest.skip(str(exc))


def mpirun(argv: list[str], nproc: int = 2, timeout: float = 120, cwd=None,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """`argv` started as `nproc` ranks; the completed process (stdout and stderr as text)."""
    require_mpi()
    from torchlite.distributed.launcher import mpirun_command

    full_env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
                    OPENBLAS_NUM_THREADS="1", **(env or {}))
    return subprocess.run(mpirun_command(nproc, argv), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=full_env)


def worker(name: str, *args: str, nproc: int = 2, timeout: float = 120,
           env: dict | None = None) -> subprocess.CompletedProcess:
    return mpirun([sys.executable, str(WORKERS / name), *args], nproc, timeout, env=env)
