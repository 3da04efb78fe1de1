"""Grad mode: whether ops record the graph. Thread-local, as in PyTorch."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    """Whether ops record the graph now (False inside no_grad)."""
    return _state.enabled


class _GradMode:
    """Sets grad mode to `self._target` inside a `with` block; also works as a decorator."""

    _target: bool

    def _fresh(self) -> _GradMode:
        # A decorated function may be re-entered or run in several threads: each call gets its
        # own manager so the saved previous mode is never shared.
        return _Scoped(self._target)

    def __enter__(self) -> _GradMode:
        self._prev = _state.enabled
        _state.enabled = self._target
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return cast(F, wrapper)


class _Scoped(_GradMode):
    def __init__(self, mode: bool) -> None:
        self._target = mode


class _BareDecorator(_GradMode):
    """Also usable as a bare decorator, `@no_grad`, as PyTorch 2 allows."""

    def __new__(cls, orig_func: Callable | None = None) -> Any:
        if orig_func is not None:
            if not callable(orig_func):
                raise TypeError(f"{cls.__name__}() takes no arguments, got {orig_func!r}")
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func: Callable | None = None) -> None:
        pass


class no_grad(_BareDecorator):
    """Disable graph recording: `with torchlite.no_grad(): ...`, `@torchlite.no_grad()` or
    `@torchlite.no_grad`."""

    _target = False


class enable_grad(_BareDecorator):
    """Re-enable graph recording inside a no_grad block (also as a decorator)."""

    _target = True


class inference_mode(_GradMode):
    """Like no_grad (torchlite has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self._target = not mode


class set_grad_enabled(_GradMode):
    """Turn grad mode on or off: at once when called, or for the length of a `with` block."""

    def __init__(self, mode: bool) -> None:
        self._target = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self._target

    def __enter__(self) -> set_grad_enabled:
        return self

    def __call__(self, fn: F) -> F:
        _state.enabled = self._prev  # used as a decorator: undo the eager switch
        return super().__call__(fn)
