"""torchlite.nn: modules, parameters, functional, init and utils, as `torch.nn`."""

from typing import TYPE_CHECKING

from . import functional, init, utils
from .module import Module
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter

if TYPE_CHECKING:  # loaded by __getattr__ on first use
    from .parallel import DataParallel

__all__ = ["Module", "Parameter", "Buffer", "DataParallel", "functional", "init", "utils",
           *_modules_all]


def __getattr__(name: str):
    # quantized, intrinsic and qat (torchlite.ao.quantization's layers) and parallel (DataParallel,
    # DistributedDataParallel) load on first use
    if name in ("quantized", "intrinsic", "qat", "parallel"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "DataParallel":
        from .parallel import DataParallel

        return DataParallel
    raise AttributeError(f"module 'torchlite.nn' has no attribute {name!r}")
