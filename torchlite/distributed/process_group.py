"""Process groups as torch.distributed: init_process_group, ranks, sizes, new_group, Work.

Ranks are processes started by an MPI launcher (`mpirun -n N`, `torchlite train --nproc N`,
`python -m torchlite.distributed.run`); init_process_group reads rank and size from MPI and
checks them against `rank`/`world_size` and the RANK/WORLD_SIZE variables when those are given.
Backend "mpi" carries NumPy arrays (and CuPy arrays through the host, or in place with a
CUDA-aware MPI); backend "nccl" carries CuPy arrays over NCCL. "gloo" is accepted as a name for
"mpi", so CPU code written for PyTorch runs unchanged.
"""

from __future__ import annotations

import datetime
import enum
import os
import sys
from typing import Any

from .watchdog import Watchdog

__all__ = ["ReduceOp", "Work", "ProcessGroup", "GroupMember", "init_process_group",
           "destroy_process_group", "is_initialized", "get_rank", "get_world_size",
           "get_backend", "new_group", "barrier", "is_mpi_available", "is_nccl_available"]

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


class ReduceOp(enum.Enum):
    """How all_reduce and friends combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class ProcessGroup:
    """A set of ranks that run collectives together (the world, or one made by new_group)."""

    def __init__(self, transport: Any, ranks: list[int], backend: str) -> None:
        self.transport = transport
        self.ranks = ranks  # global ranks, in group-rank order
        self.backend = backend

    def rank(self) -> int:
        return -1 if self.transport is None else self.transport.rank

    def size(self) -> int:
        return len(self.ranks)

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks})"


class GroupMember:
    """As PyTorch: `GroupMember.WORLD` is the default group (None means it too)."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


class Work:
    """The handle of an asynchronous collective: `wait()` completes it (results land in the
    tensors given to the call)."""

    def __init__(self, requests: list, finish=None, op: str = "collective") -> None:
        self._requests = requests
        self._finish = finish
        self._op = op
        self._done = False

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        if not self._done:
            dog = _state.watchdog
            if dog is not None:
                dog.start(self._op)
            try:
                for req in self._requests:
                    if req is not None:
                        req.Wait()
            finally:
                if dog is not None:
                    dog.done()
            self._done = True
            if self._finish is not None:
                self._finish()
        return True

    def is_completed(self) -> bool:
        if not self._done and all(r is None or r.Test() for r in self._requests):
            self.wait()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> list:
        self.wait()
        return []


class _State:
    world: ProcessGroup | None = None
    watchdog: Watchdog | None = None
    previous_excepthook: Any = None


_state = _State()


def is_mpi_available() -> bool:
    from .mpi import mpi_installed

    return mpi_installed()


def is_nccl_available() -> bool:
    from .. import backend

    return backend.cuda_available() and backend.nccl_module() is not None


def is_initialized() -> bool:
    return _state.world is not None


def _world() -> ProcessGroup:
    if _state.world is None:
        raise RuntimeError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _state.world


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return None if value in (None, "") else int(value)


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store: Any = None, group_name: str = "",
                       pg_options: Any = None, device_id: Any = None) -> None:
    """Join the ranks started by the MPI launcher into the default group.

    `backend`: "mpi" (default; "gloo" is an alias) or "nccl". `init_method` may be None or
    "env://"; rank and size come from MPI and must agree with `rank`/`world_size` and with the
    RANK/WORLD_SIZE environment variables when they are set. A collective that waits longer
    than `timeout` (default 30 minutes) ends its rank with a message naming it.
    """
    if _state.world is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    name = (backend or "mpi").lower()
    if name == "gloo":
        name = "mpi"
    if name not in ("mpi", "nccl"):
        raise ValueError(f"init_process_group: unknown backend {backend!r} (use 'mpi' or 'nccl')")
    if init_method not in (None, "env://"):
        raise ValueError(
            f"init_process_group: init_method {init_method!r} is not supported: ranks are "
            "started and connected by MPI (mpirun, torchlite train --nproc, "
            "python -m torchlite.distributed.run)"
        )
    from .mpi import MpiTransport, import_mpi

    MPI = import_mpi()
    transport: Any = MpiTransport(MPI.COMM_WORLD)
    for what, given in (("rank", rank), ("world_size", world_size),
                        ("RANK", _env_int("RANK")), ("WORLD_SIZE", _env_int("WORLD_SIZE"))):
        actual = transport.size if what.lower() == "world_size" else transport.rank
        if given is not None and given != -1 and given != actual:
            raise ValueError(
                f"init_process_group: {what}={given} but MPI started this process as rank "
                f"{transport.rank} of {transport.size}; start the ranks with mpirun -n N (or "
                "torchlite.distributed.run) and leave rank/world_size unset"
            )
    if name == "nccl":
        from .nccl import NcclTransport

        transport = NcclTransport(transport)
    seconds = (timeout or DEFAULT_TIMEOUT).total_seconds()
    _state.world = ProcessGroup(transport, list(range(transport.size)), name)
    GroupMember.WORLD = _state.world
    _state.watchdog = Watchdog(transport.rank, seconds)
    if transport.size > 1:
        _state.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def _abort_on_uncaught(exc_type, exc, tb) -> None:
    """An exception that ends one rank must end the job, or the others wait in a collective."""
    (_state.previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)
    world = _state.world
    if world is not None and world.transport is not None:
        sys.stderr.write(f"torchlite.distributed: rank {world.rank()} failed with "
                         f"{exc_type.__name__}; stopping all ranks\n")
        sys.stderr.flush()
        world.transport.abort(1)


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave the default group (or free `group`)."""
    if group is not None and group is not _state.world:
        if group.transport is not None:
            group.transport.free()
        group.transport = None
        return
    if _state.watchdog is not None:
        _state.watchdog.stop()
    if _state.previous_excepthook is not None:
        sys.excepthook = _state.previous_excepthook
    _state.world = None
    _state.watchdog = None
    _state.previous_excepthook = None
    GroupMember.WORLD = None


def group_of(group: ProcessGroup | None) -> ProcessGroup:
    """The group a collective runs on (None: the default group)."""
    g = _world() if group is None else group
    if g.transport is None:
        raise RuntimeError("this rank is not a member of the process group")
    return g


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in `group` (-1 when it is not a member)."""
    g = _world() if group is None else group
    return g.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    g = _world() if group is None else group
    return g.size() if g.transport is not None else -1


def get_backend(group: ProcessGroup | None = None) -> str:
    return (_world() if group is None else group).backend


def new_group(ranks: list[int] | None = None, timeout: datetime.timedelta | None = None,
              backend: str | None = None, pg_options: Any = None) -> ProcessGroup:
    """A group of `ranks` (global ranks; all of them by default). Every rank of the default
    group must call it, members or not, as in PyTorch."""
    world = _world()
    members = sorted(set(range(world.size()) if ranks is None else (int(r) for r in ranks)))
    if any(r < 0 or r >= world.size() for r in members):
        raise ValueError(f"new_group: ranks {members} are not all in [0, {world.size()})")
    name = world.backend if backend is None else ("mpi" if backend == "gloo" else backend)
    if name not in ("mpi", "nccl"):
        raise ValueError(f"new_group: unknown backend {backend!r} (use 'mpi' or 'nccl')")
    host = getattr(world.transport, "mpi", world.transport)  # the MPI side of the world
    transport = host.split(members)
    if transport is not None and name == "nccl":
        from .nccl import NcclTransport

        transport = NcclTransport(transport)
    return ProcessGroup(transport, members, name)


def barrier(group: ProcessGroup | None = None, async_op: bool = False,
            device_ids: Any = None) -> Work | None:
    """Wait until every rank of the group has reached this call."""
    g = group_of(group)
    dog = _state.watchdog
    if dog is not None:
        dog.start("barrier")
    try:
        g.transport.barrier()
    finally:
        if dog is not None:
            dog.done()
    return Work([], op="barrier") if async_op else None
