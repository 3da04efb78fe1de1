"""Anomaly detection: find the forward op whose backward produced NaN."""

from __future__ import annotations

import functools
import threading
import traceback
from typing import Any, cast

from .grad_mode import F


class _State(threading.local):
    enabled = False
    check_nan = True


_state = _State()


def is_anomaly_enabled() -> bool:
    return _state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _state.check_nan


def _nan_checks_on() -> bool:
    return _state.enabled and _state.check_nan


class detect_anomaly:
    """While active, ops remember where they were created and backward checks every gradient.

    A gradient holding NaN raises RuntimeError naming the op (`MulBackward0`) and the line of
    user code that ran its forward. An infinite gradient passes (d sqrt(x)/dx at 0 is inf), and
    forward outputs are not checked, as in PyTorch. With `check_nan=False` only the forward
    lines are recorded. Slow: for debugging only.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._mode = True

    def __enter__(self) -> detect_anomaly:
        self._prev = (_state.enabled, _state.check_nan)
        _state.enabled, _state.check_nan = self._mode, self.check_nan
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled, _state.check_nan = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return cast(F, wrapper)


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off (`mode`), as a call or a context manager; as a context
    manager it restores the previous state on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        super().__init__(check_nan)
        self._mode = bool(mode)
        self._prev = (_state.enabled, _state.check_nan)
        _state.enabled, _state.check_nan = self._mode, self.check_nan

    def __enter__(self) -> set_detect_anomaly:
        return self


def _forward_trace() -> str:
    """The user-code frames of the current stack, for the node being created."""
    frames = [f for f in traceback.extract_stack()[:-3] if "/torchlite/" not in f.filename]
    return "".join(traceback.format_list(frames[-3:]))


def _anomaly_check(node, in_grads) -> None:
    for i, g in enumerate(in_grads):
        if g is None or g.dtype.kind not in "fcV":
            continue
        from ..backend import get_xp

        xp = get_xp(g)
        if bool(xp.isnan(g).any()):  # NaN only: an inf gradient is legitimate, as in PyTorch
            where = getattr(node, "_anomaly_trace", None)
            msg = f"Function '{node.name()}' returned nan values in its {i}th output."
            if where:
                msg += f"\nThe forward call that created it:\n{where}"
            raise RuntimeError(msg)
