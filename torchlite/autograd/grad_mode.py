"""Grad mode: whether ops record the graph. Thread-local, as in PyTorch."""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode:
    """Sets grad mode to `self._target` inside a `with` block; also works as a decorator."""

    _target: bool

    def _fresh(self) -> _GradMode:
        # A decorated function may be re-entered or run in several threads: each call gets its
        # own manager so the saved previous mode is never shared.
        return _Scoped(self._target)

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._target
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper


class _Scoped(_GradMode):
    def __init__(self, mode: bool) -> None:
        self._target = mode


class _BareDecorator(_GradMode):
    """Also usable as a bare decorator, `@no_grad`, as PyTorch 2 allows."""

    def __new__(cls, orig_func=None):
        if orig_func is not None:
            if not callable(orig_func):
                raise TypeError(f"{cls.__name__}() takes no arguments, got {orig_func!r}")
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None) -> None:
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

    def __enter__(self):
        return self

    def __call__(self, fn):
        _state.enabled = self._prev  # used as a decorator: undo the eager switch
        return super().__call__(fn)
