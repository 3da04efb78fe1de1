"""Anomaly detection: find the forward op whose backward produced NaN or Inf."""

from __future__ import annotations

import threading
import traceback


class _State(threading.local):
    enabled = False


_state = _State()


def is_anomaly_enabled() -> bool:
    return _state.enabled


class detect_anomaly:
    """While active, ops remember where they were created and backward checks every gradient.

    A NaN or Inf gradient raises RuntimeError naming the op (`MulBackward0`) and the line of
    user code that ran its forward. Slow: for debugging only.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self.check_nan
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        super().__init__(check_nan and mode)


def _forward_trace() -> str:
    """The user-code frames of the current stack, for the node being created."""
    frames = [f for f in traceback.extract_stack()[:-3] if "/torchlite/" not in f.filename]
    return "".join(traceback.format_list(frames[-3:]))


def _anomaly_check(node, in_grads) -> None:
    for i, g in enumerate(in_grads):
        if g is None or g.dtype.kind not in "fc":
            continue
        from ..backend import get_xp

        xp = get_xp(g)
        if not bool(xp.isfinite(g).all()):
            where = getattr(node, "_anomaly_trace", None)
            msg = f"Function '{node.name()}' returned nan values in its {i}th output."
            if where:
                msg += f"\nThe forward call that created it:\n{where}"
            raise RuntimeError(msg)
