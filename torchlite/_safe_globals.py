"""PyTorch's allowlist of globals for `torch.load(weights_only=True)`, kept as a record only.

In PyTorch these name the classes and functions that the restricted unpickler may rebuild from
a checkpoint. torchlite never unpickles (its checkpoints are safetensors files whose non-tensor
values are JSON), so nothing consults the list: it exists so that code written for PyTorch, which
registers its classes before loading, runs unchanged. Exposed as `torchlite.serialization.*`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

SafeGlobal = Callable | tuple[Callable, str]

# a dict as an ordered set: entries are unique (as in PyTorch's set) and listed in the order added
_registered: dict[SafeGlobal, None] = {}


def add_safe_globals(safe_globals: list[SafeGlobal]) -> None:
    """Record `safe_globals` (callables, or (callable, "module.name") pairs) as PyTorch does.

    Changes nothing else: torchlite.load never unpickles, so it has no use for the list.
    """
    for g in safe_globals:
        _registered[g] = None


def get_safe_globals() -> list[SafeGlobal]:
    """The globals recorded by `add_safe_globals` (and by open `safe_globals` blocks)."""
    return list(_registered)


def clear_safe_globals() -> None:
    """Forget every recorded global."""
    _registered.clear()


class safe_globals:  # noqa: N801 (PyTorch's name, used as a context manager)
    """Context manager recording `safe_globals` inside the block and removing them on exit, as
    PyTorch's does; like `add_safe_globals` it changes nothing about what torchlite.load reads."""

    def __init__(self, safe_globals: list[SafeGlobal]) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for g in self.safe_globals:
            _registered.pop(g, None)
