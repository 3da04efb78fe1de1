"""torchlite.nn: modules, parameters, functional, init and utils, as `torch.nn`."""

from . import functional, init, utils
from .module import Module
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parallel import DataParallel
from .parameter import Buffer, Parameter

__all__ = ["Module", "Parameter", "Buffer", "DataParallel", "functional", "init", "utils",
           *_modules_all]


def __getattr__(name: str):
    # quantized, intrinsic and qat (torchlite.ao.quantization's layers) load on first use
    if name in ("quantized", "intrinsic", "qat"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'torchlite.nn' has no attribute {name!r}")
