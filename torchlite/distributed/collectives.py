"""Tensor collectives as torch.distributed: all_reduce, broadcast, all_gather, gather, scatter,
reduce_scatter_tensor, send/recv, each with `async_op=True` returning a Work.

Contiguous NumPy data goes to MPI as is (zero copy; all_reduce works in place). A
non-contiguous tensor, a dtype MPI cannot reduce (bool, bfloat16) or a CuPy array on the MPI
backend travels through a contiguous staging copy that is written back when the call completes.
Data-movement collectives send raw bytes, so every dtype travels unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .process_group import ProcessGroup, ReduceOp, Work, _state, group_of

__all__ = ["all_reduce", "reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter_tensor", "reduce_scatter", "gather", "scatter", "send", "recv",
           "isend", "irecv"]


def _guarded(name: str, call, *args, **kwargs):
    dog = _state.watchdog
    if dog is None:
        return call(*args, **kwargs)
    dog.start(name)
    try:
        return call(*args, **kwargs)
    finally:
        dog.done()


def _complete(name: str, req: Any, finish, async_op: bool) -> Work | None:
    if async_op:
        return Work([req], finish, name)
    if finish is not None:
        finish()
    return None


def _on_wire(g: ProcessGroup, arr: Any) -> bool:
    """Whether `arr` can be handed to the group's transport as it is."""
    if g.backend == "nccl":
        return not isinstance(arr, np.ndarray) and arr.flags.c_contiguous
    return isinstance(arr, np.ndarray) and arr.flags.c_contiguous


def _stage(g: ProcessGroup, arr: Any, reduce: bool) -> Any:
    """A contiguous array the transport accepts, holding `arr`'s values."""
    if g.backend == "nccl":
        out = backend.cupy_module().ascontiguousarray(arr)
    else:
        out = np.ascontiguousarray(backend.to_host(arr))
    if reduce and out.dtype.kind == "b":
        out = out.astype(np.uint8)
    elif reduce and out.dtype.kind == "V":  # ml_dtypes (bfloat16, float8): reduce in float32
        out = out.astype(np.float32)
    return out


def _needs_stage(g: ProcessGroup, arr: Any, reduce: bool) -> bool:
    return not _on_wire(g, arr) or (reduce and arr.dtype.kind in "bV")


def _write_back(dst: Any, src: Any) -> None:
    if isinstance(dst, np.ndarray):
        dst[...] = backend.to_host(src).astype(dst.dtype, copy=False)
    else:
        dst[...] = backend.cupy_module().asarray(src).astype(dst.dtype, copy=False)


def _bytes(arr: Any) -> Any:
    return arr.reshape(-1).view(np.uint8)


def _op_name(op: Any) -> str:
    if isinstance(op, ReduceOp):
        return op.value
    name = str(op).lower().rsplit(".", 1)[-1]
    if name not in ("sum", "avg", "product", "min", "max"):
        raise ValueError(f"unknown reduce op {op!r}")
    return name


def _average(buf: Any, size: int) -> None:
    if buf.dtype.kind in "fc":
        buf /= size
    else:
        buf //= size


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Combine `tensor` across the group's ranks with `op`, in place on every rank."""
    g = group_of(group)
    name = op.value if type(op) is ReduceOp else _op_name(op)
    arr = tensor._data
    if (not async_op and name != "avg" and type(arr) is np.ndarray and g.backend == "mpi"
            and arr.flags.c_contiguous and arr.dtype.kind in "fiuc"):
        # the common case, without staging or a completion step: MPI works on the array itself
        _guarded("all_reduce", g.transport.allreduce, arr, name)
        tensor._bump()
        return None
    staged = _needs_stage(g, arr, True)
    buf = _stage(g, arr, True) if staged else arr

    def finish():
        if name == "avg":
            _average(buf, g.size())
        if staged:
            _write_back(arr, buf)
        tensor._bump()

    req = _guarded("all_reduce", g.transport.allreduce, buf, name, not async_op)
    return _complete("all_reduce", req, finish, async_op)


def reduce(tensor: Tensor, dst: int, op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
           async_op: bool = False) -> Work | None:
    """As all_reduce; PyTorch defines the result on rank `dst` only (here every rank has it)."""
    return all_reduce(tensor, op, group, async_op)


def _group_rank(g: ProcessGroup, rank: int, what: str) -> int:
    try:
        return g.ranks.index(int(rank))
    except ValueError:
        raise ValueError(f"{what} rank {rank} is not in the group {g.ranks}") from None


def broadcast(tensor: Tensor, src: int, group: ProcessGroup | None = None,
              async_op: bool = False) -> Work | None:
    """Copy rank `src`'s tensor (a global rank) into `tensor` on every rank of the group."""
    g = group_of(group)
    root = _group_rank(g, src, "broadcast: src")
    arr = tensor._data
    staged = _needs_stage(g, arr, False)
    buf = _stage(g, arr, False) if staged else arr

    def finish():
        if staged:
            _write_back(arr, buf)
        tensor._bump()

    req = _guarded("broadcast", g.transport.broadcast, _bytes(buf), root, not async_op)
    return _complete("broadcast", req, finish, async_op)


def _empty_like_wire(g: ProcessGroup, arr: Any, n: int) -> Any:
    xp = backend.cupy_module() if g.backend == "nccl" else np
    return xp.empty((n,) + tuple(arr.shape), dtype=arr.dtype)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """`tensor_list[i]` receives rank i's `tensor` (all of the same shape and dtype)."""
    g = group_of(group)
    if len(tensor_list) != g.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for a group "
                         f"of {g.size()} ranks")
    send = tensor._data if _on_wire(g, tensor._data) else _stage(g, tensor._data, False)
    recv = _empty_like_wire(g, send, g.size())

    def finish():
        for i, t in enumerate(tensor_list):
            _write_back(t._data, recv[i])
            t._bump()

    req = _guarded("all_gather", g.transport.allgather, _bytes(send), _bytes(recv), not async_op)
    return _complete("all_gather", req, finish, async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor,
                           group: ProcessGroup | None = None,
                           async_op: bool = False) -> Work | None:
    """Rank i's `input_tensor` fills the i-th slice of `output_tensor` (concatenated along dim 0
    or stacked on a new dim 0)."""
    g = group_of(group)
    if output_tensor.numel() != input_tensor.numel() * g.size():
        raise ValueError(
            f"all_gather_into_tensor: output has {output_tensor.numel()} elements, expected "
            f"{g.size()} x {input_tensor.numel()}"
        )
    out = output_tensor._data
    send = input_tensor._data if _on_wire(g, input_tensor._data) else _stage(
        g, input_tensor._data, False)
    staged = _needs_stage(g, out, False)
    recv = _stage(g, out, False) if staged else out

    def finish():
        if staged:
            _write_back(out, recv)
        output_tensor._bump()

    req = _guarded("all_gather_into_tensor", g.transport.allgather, _bytes(send), _bytes(recv),
                   not async_op)
    return _complete("all_gather_into_tensor", req, finish, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM,
                          group: ProcessGroup | None = None,
                          async_op: bool = False) -> Work | None:
    """Reduce `input` (group size x output's elements) across ranks; rank i keeps slice i."""
    g = group_of(group)
    name = _op_name(op)
    if input.numel() != output.numel() * g.size():
        raise ValueError(
            f"reduce_scatter_tensor: input has {input.numel()} elements, expected "
            f"{g.size()} x {output.numel()}"
        )
    send = _stage(g, input._data, True) if _needs_stage(g, input._data, True) else input._data
    out = output._data
    staged = _needs_stage(g, out, True)
    recv = _stage(g, out, True) if staged else out

    def finish():
        if name == "avg":
            _average(recv, g.size())
        if staged:
            _write_back(out, recv)
        output._bump()

    req = _guarded("reduce_scatter_tensor", g.transport.reduce_scatter, send.reshape(-1),
                   recv.reshape(-1), name, not async_op)
    return _complete("reduce_scatter_tensor", req, finish, async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: Any = ReduceOp.SUM,
                   group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Reduce `input_list[i]` across ranks into rank i's `output`."""
    from .. import cat

    flat = cat([t.reshape(-1) for t in input_list])
    return reduce_scatter_tensor(output, flat, op, group, async_op)


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int = 0,
           group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Rank `dst` receives every rank's `tensor` into `gather_list`."""
    g = group_of(group)
    root = _group_rank(g, dst, "gather: dst")
    is_root = g.rank() == root
    if is_root and (gather_list is None or len(gather_list) != g.size()):
        raise ValueError(f"gather: rank {dst} needs a gather_list of {g.size()} tensors")
    send = np.ascontiguousarray(backend.to_host(tensor._data))
    recv = np.empty((g.size(),) + send.shape, send.dtype) if is_root else None

    def finish():
        if is_root:
            for i, t in enumerate(gather_list or ()):
                _write_back(t._data, recv[i])
                t._bump()

    host = g.transport.mpi if g.backend == "nccl" else g.transport
    req = _guarded("gather", host.gather, _bytes(send), None if recv is None else _bytes(recv),
                   root, not async_op)
    return _complete("gather", req, finish, async_op)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int = 0,
            group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Rank `src` sends `scatter_list[i]` to rank i's `tensor`."""
    g = group_of(group)
    root = _group_rank(g, src, "scatter: src")
    send = None
    if g.rank() == root:
        if scatter_list is None or len(scatter_list) != g.size():
            raise ValueError(f"scatter: rank {src} needs a scatter_list of {g.size()} tensors")
        send = np.ascontiguousarray(np.stack([backend.to_host(t._data) for t in scatter_list]))
    recv = np.empty(tuple(tensor.shape), tensor._data.dtype)

    def finish():
        _write_back(tensor._data, recv)
        tensor._bump()

    host = g.transport.mpi if g.backend == "nccl" else g.transport
    req = _guarded("scatter", host.scatter, None if send is None else _bytes(send), _bytes(recv),
                   root, not async_op)
    return _complete("scatter", req, finish, async_op)


def send(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> None:
    """Send `tensor` to rank `dst` (blocks until the data is handed over)."""
    isend(tensor, dst, group, tag).wait()


def isend(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> Work:
    g = group_of(group)
    buf = tensor._data if _on_wire(g, tensor._data) else _stage(g, tensor._data, False)
    req = g.transport.send(_bytes(buf), _group_rank(g, dst, "send: dst"), tag, False)
    return Work([req], None, "send")


def recv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
         tag: int = 0) -> int:
    """Receive into `tensor` from rank `src` (any rank when None); returns the sender's rank."""
    g = group_of(group)
    arr = tensor._data
    staged = _needs_stage(g, arr, False)
    buf = _stage(g, arr, False) if staged else arr
    peer = None if src is None else _group_rank(g, src, "recv: src")
    got = _guarded("recv", g.transport.recv, _bytes(buf), peer, tag, True)
    if staged:
        _write_back(arr, buf)
    tensor._bump()
    return g.ranks[got]


def irecv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
          tag: int = 0) -> Work:
    g = group_of(group)
    arr = tensor._data
    staged = _needs_stage(g, arr, False)
    buf = _stage(g, arr, False) if staged else arr
    peer = None if src is None else _group_rank(g, src, "irecv: src")
    req = g.transport.recv(_bytes(buf), peer, tag, False)

    def finish():
        if staged:
            _write_back(arr, buf)
        tensor._bump()

    return Work([req], finish, "irecv")
