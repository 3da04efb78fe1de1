"""Mixed precision: `autocast` regions and the `GradScaler` for float16 training, as torch.amp.

Light to import: the autocast-aware ops import `torchlite.amp.state` only, and every op module
imports this package, so autocast and GradScaler load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names __getattr__ loads, for editors and type checkers
    from .autocast_mode import (
        autocast,
        custom_bwd,
        custom_fwd,
        get_autocast_dtype,
        is_autocast_available,
        is_autocast_enabled,
    )
    from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "custom_bwd", "custom_fwd", "get_autocast_dtype",
           "is_autocast_available", "is_autocast_enabled"]

_HOME = dict.fromkeys(__all__, ".autocast_mode") | {"GradScaler": ".grad_scaler"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'torchlite.amp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
