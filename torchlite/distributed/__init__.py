"""torchlite.distributed: PyTorch's torch.distributed API over MPI (mpi4py) and NCCL (CuPy).

Ranks are processes started by an MPI launcher: `mpirun -n N python script.py`,
`python -m torchlite.distributed.run --nproc-per-node N script.py`, or
`torchlite train config.yaml --nproc N`. Needs the `mpi` extra (`pip install 'torchlite[mpi]'`);
importing this package does not import mpi4py, `init_process_group` does.
"""

from __future__ import annotations

from .collectives import (
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    broadcast,
    gather,
    irecv,
    isend,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    send,
)
from .object_collectives import all_gather_object, broadcast_object_list, gather_object
from .process_group import (
    GroupMember,
    ProcessGroup,
    ReduceOp,
    Work,
    barrier,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    new_group,
)

__all__ = [
    "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "barrier", "broadcast", "broadcast_object_list",
    "destroy_process_group", "gather", "gather_object", "get_backend", "get_rank",
    "get_world_size", "init_process_group", "irecv", "is_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "isend", "new_group", "recv", "reduce",
    "reduce_scatter", "reduce_scatter_tensor", "scatter", "send",
]


def is_available() -> bool:
    """True when torchlite.distributed can run here (mpi4py is installed)."""
    return is_mpi_available()
