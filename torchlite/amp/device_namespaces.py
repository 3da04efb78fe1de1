"""`torchlite.cuda.amp` and `torchlite.cpu.amp` as importable namespaces that load their contents
(the device-fixed autocast and GradScaler of `device_amp`) on first attribute access.

They are registered in sys.modules when torchlite.cuda is imported, because `torchlite.cuda` is
a module, not a package: `from torchlite.cuda.amp import GradScaler` can only find a submodule
that is already there. Building the classes themselves would import autocast and GradScaler,
which `import torchlite` does not need.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_NAMES = ("GradScaler", "autocast")


def _namespace(name: str) -> types.ModuleType:
    module = types.ModuleType(name, f"{name}: autocast and GradScaler for one device type.")

    def __getattr__(attr: str) -> Any:
        if attr in _NAMES:
            importlib.import_module(".device_amp", __package__)  # fills this module's namespace
            return module.__dict__[attr]
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__all__ = list(_NAMES)  # type: ignore[attr-defined]
    sys.modules[name] = module
    return module


cuda_amp = _namespace("torchlite.cuda.amp")
cpu_amp = _namespace("torchlite.cpu.amp")


def fill(module: types.ModuleType, **attrs: Any) -> None:
    """Put the loaded classes into a namespace; its placeholder `__getattr__` goes away."""
    module.__dict__.pop("__getattr__", None)
    module.__dict__.update(attrs)
