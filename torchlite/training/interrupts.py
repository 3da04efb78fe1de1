"""How a training run hears SIGINT, SIGTERM and SIGHUP: as a flag checked between steps.

`Signals` is the trainer's handler while it trains. A stop request turns into a flag, and the
step that is running finishes first. The trainer then saves and ends as interrupted.

Before the trainer installs it, the CLI raises KeyboardInterrupt for a Ctrl-C. Python raises a
signal handler's exception wherever the main thread happens to be. In a finalizer it cannot
propagate: a `__del__`, a weakref callback (the import system's module-lock cleanup runs one
after most imports), a generator closed by the garbage collector. Python then prints
"Exception ignored" and carries on, and the Ctrl-C is lost: a training run started anyway and
ran to its last epoch. So the CLI's handler, `record_and_raise`, notes the signal before it
raises. The next code that looks still sees it: `Signals` takes it and stops the run at its
first step boundary, and the command line ends as interrupted.
"""

from __future__ import annotations

import signal

_received: list[str] = []

_HANGUP = (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()  # not on Windows


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


class Signals:
    """Turns SIGINT/SIGTERM/SIGHUP into the flag `stop` (the signal's name), checked between
    steps; the previous handlers come back on exit."""

    def __init__(self) -> None:
        self.stop = None

    def __enter__(self):
        self._old = {}
        # SIGHUP: the terminal closed (an ssh session dropped); saved as for SIGTERM
        for sig in (signal.SIGINT, signal.SIGTERM, *_HANGUP):
            if signal.getsignal(sig) is signal.SIG_IGN:
                # meant to be ignored: under nohup (SIGHUP), or in a script's background job
                # (SIGINT); a closed terminal must not stop a run started with nohup
                continue
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        if self._old:
            # a recorded Ctrl-C that Python dropped before this handler stops the run at its
            # first step boundary, as one a moment later would
            pending = take()
            if pending is not None:
                self.stop = pending
        return self

    def _handle(self, signum, frame) -> None:
        if self.stop is not None:  # a second Ctrl-C while saving: give up at once
            raise KeyboardInterrupt
        self.stop = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
