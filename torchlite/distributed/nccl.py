"""The NCCL transport for CuPy arrays (one rank per GPU), bootstrapped over MPI.

Rank 0 makes NCCL's unique id and MPI broadcasts it; from then on collectives run on the
current CuPy stream and a non-blocking call returns a request whose `Wait()` synchronises that
stream. gather/scatter/barrier (which NCCL lacks) stay on the MPI transport. This path needs
GPUs and is not exercised by the CPU test suite.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .mpi import MpiTransport


class _StreamRequest:
    """What a non-blocking NCCL call returns: `Wait()` waits for the stream's work so far."""

    def __init__(self, stream: Any) -> None:
        self.event = stream.record()

    def Wait(self) -> None:  # noqa: N802 - the same name as an MPI request's
        self.event.synchronize()

    def Test(self) -> bool:  # noqa: N802
        return bool(self.event.done)


class NcclTransport:
    """allreduce/broadcast/allgather/reduce_scatter/send/recv of CuPy arrays over NCCL."""

    name = "nccl"

    def __init__(self, mpi: MpiTransport) -> None:
        nccl = backend.nccl_module()
        if nccl is None:
            raise RuntimeError("backend 'nccl' needs CuPy built with NCCL (cupy.cuda.nccl)")
        self.nccl = nccl
        self.mpi = mpi
        self.rank, self.size = mpi.rank, mpi.size
        # NCCL's id: a tuple of 128 (signed) chars, made on rank 0
        uid = np.zeros(128, dtype=np.int64)
        if mpi.rank == 0:
            uid[:] = nccl.get_unique_id()
        mpi.broadcast(uid, 0)
        self.comm = nccl.NcclCommunicator(self.size, tuple(int(b) for b in uid), self.rank)
        self.cp = backend.cupy_module()
        self._types = {np.dtype(np.float16): nccl.NCCL_FLOAT16,
                       np.dtype(np.float32): nccl.NCCL_FLOAT32,
                       np.dtype(np.float64): nccl.NCCL_FLOAT64,
                       np.dtype(np.int32): nccl.NCCL_INT32, np.dtype(np.int64): nccl.NCCL_INT64,
                       np.dtype(np.uint8): nccl.NCCL_UINT8, np.dtype(np.int8): nccl.NCCL_INT8}
        self._ops = {"sum": nccl.NCCL_SUM, "avg": nccl.NCCL_SUM, "product": nccl.NCCL_PROD,
                     "min": nccl.NCCL_MIN, "max": nccl.NCCL_MAX}

    def _finish(self, blocking: bool):
        stream = self.cp.cuda.get_current_stream()
        if blocking:
            return None
        return _StreamRequest(stream)

    def _ptr(self):
        return self.cp.cuda.get_current_stream().ptr

    def allreduce(self, buf, op: str, blocking: bool = True):
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._types[buf.dtype],
                            self._ops[op], self._ptr())
        return self._finish(blocking)

    def broadcast(self, buf, root: int, blocking: bool = True):
        self.comm.bcast(buf.data.ptr, buf.size, self._types[buf.dtype], root, self._ptr())
        return self._finish(blocking)

    def allgather(self, send, recv, blocking: bool = True):
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, self._types[send.dtype],
                            self._ptr())
        return self._finish(blocking)

    def reduce_scatter(self, send, recv, op: str, blocking: bool = True):
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size,
                                self._types[send.dtype], self._ops[op], self._ptr())
        return self._finish(blocking)

    def send(self, buf, dst: int, tag: int, blocking: bool = True):
        self.comm.send(buf.data.ptr, buf.size, self._types[buf.dtype], dst, self._ptr())
        return self._finish(blocking)

    def recv(self, buf, src: int | None, tag: int, blocking: bool = True):
        if src is None:
            raise ValueError("recv over NCCL needs an explicit src rank")
        self.comm.recv(buf.data.ptr, buf.size, self._types[buf.dtype], src, self._ptr())
        req = self._finish(blocking)
        return src if blocking else req

    def gather(self, send, recv, root: int, blocking: bool = True):
        host = None if recv is None else np.empty(recv.shape, recv.dtype)
        self.mpi.gather(backend.to_host(send), host, root)
        if recv is not None:
            recv[...] = self.cp.asarray(host)

    def scatter(self, send, recv, root: int, blocking: bool = True):
        host = np.empty(recv.shape, recv.dtype)
        self.mpi.scatter(None if send is None else backend.to_host(send), host, root)
        recv[...] = self.cp.asarray(host)

    def allgatherv(self, send, recv, counts: list[int]) -> None:
        self.mpi.allgatherv(send, recv, counts)

    def barrier(self) -> None:
        self.cp.cuda.get_current_stream().synchronize()
        self.mpi.barrier()

    def split(self, ranks: list[int]):
        sub = self.mpi.split(ranks)
        return None if sub is None else NcclTransport(sub)

    def abort(self, code: int) -> None:
        self.mpi.abort(code)

    def free(self) -> None:
        self.comm.destroy()
        self.mpi.free()
