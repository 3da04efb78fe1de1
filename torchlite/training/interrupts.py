"""A Ctrl-C that Python dropped, kept so that the run still stops.

Python raises a signal handler's KeyboardInterrupt wherever the main thread happens to be. In a
finalizer it cannot propagate: a `__del__`, a weakref callback (the import system's module-lock
cleanup runs one after most imports), a generator closed by the garbage collector. Python then
prints "Exception ignored" and carries on, and the Ctrl-C is lost: a training run started anyway
and ran to its last epoch. `record_and_raise` notes the signal before raising, so the next code
that looks still sees it: the trainer stops at its first step boundary (`trainer._Signals`) and
the command line ends as interrupted.
"""

from __future__ import annotations

import signal

_received: list[str] = []


def record_and_raise(signum, frame) -> None:  # noqa: ARG001 - the signal handler's signature
    """A SIGINT handler: KeyboardInterrupt, as Python's own, remembered until `take`n."""
    _received.append(signal.Signals(signum).name)
    raise KeyboardInterrupt


def received() -> str | None:
    """The signal recorded and not yet taken (its name), or None."""
    return _received[-1] if _received else None


def take() -> str | None:
    """The recorded signal, which the caller now answers for; None if there was none."""
    name = received()
    _received.clear()
    return name
