"""`python -m torchlite.distributed.run --nproc-per-node N script.py [args]`, in torchrun's spirit.

Starts N ranks of the script through mpirun. Each rank sees torchrun's variables (RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE) set from MPI's, and runs the script as `python
script.py` would (or a module, with `-m`), so `init_process_group()` and code reading
LOCAL_RANK work unchanged.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys

from .launcher import launch, mpi_environment


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m torchlite.distributed.run",
                                description="Run a script as N ranks through mpirun.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                   help="number of ranks to start")
    p.add_argument("--nnodes", default="1", help="only 1 is supported (one machine)")
    p.add_argument("--standalone", action="store_true", help="accepted, as torchrun's")
    p.add_argument("-m", "--module", action="store_true", help="the target is a module name")
    p.add_argument("--rank-entry", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("target", help="the script (or module) to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return p


def _run_rank(module: bool, target: str, args: list[str]) -> None:
    """Inside one rank: set torchrun's variables, then run the target as __main__."""
    found = mpi_environment()
    if found is not None:
        rank, size, local = found
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(local),
                          LOCAL_WORLD_SIZE=os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE",
                                                          str(size)))
    sys.argv = [target, *args]
    if module:
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
        runpy.run_path(target, run_name="__main__")


def main(argv: list[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    if ns.rank_entry:
        _run_rank(ns.module, ns.target, ns.args)
        return 0
    if str(ns.nnodes) not in ("1", "1:1"):
        sys.stderr.write("torchlite.distributed.run: only one node is supported (--nnodes 1)\n")
        return 2
    from .mpi import MPIUnavailableError

    rank_argv = [sys.executable, "-m", "torchlite.distributed.run", "--rank-entry"]
    if ns.module:
        rank_argv.append("-m")
    try:
        return launch(ns.nproc_per_node, [*rank_argv, ns.target, *ns.args])
    except MPIUnavailableError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
