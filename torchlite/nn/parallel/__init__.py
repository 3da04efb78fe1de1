"""torch.nn.parallel's import paths: DataParallel (one process, several GPUs),
DistributedDataParallel (one process per rank, over torchlite.distributed) and the pieces
DataParallel is made of (scatter, gather, replicate, parallel_apply)."""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import gather, scatter, scatter_kwargs

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel", "gather",
           "parallel_apply", "replicate", "scatter", "scatter_kwargs"]
