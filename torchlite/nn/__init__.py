"""torchlite.nn: modules, parameters, functional, init and utils, as `torch.nn`."""

from . import functional, init, utils
from .module import Module
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parallel import DataParallel
from .parameter import Buffer, Parameter

__all__ = ["Module", "Parameter", "Buffer", "DataParallel", "functional", "init", "utils",
           *_modules_all]
