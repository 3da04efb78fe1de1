"""The `torchlite` command line (installed as the package `torchlite_cli`).

Ctrl-C has three phases. Until a command calls into the library (main._run), nothing has been
written, so SIGINT ends the process at once with 130: an exception raised there would land in
whatever code was running (the imports, click's parsing), and some of it rewraps exceptions
(pydantic_core turns a KeyboardInterrupt raised while it builds a model's validator at import
into a SchemaError, exit 1). From `_run` on (`ctrl_c_raises`), Ctrl-C is a KeyboardInterrupt
again: the command cleans up, says "interrupted" and exits 130 (training saves first). Once
the command is over (`ctrl_c_ends`), a Ctrl-C only makes the exit status 130.

Only when this package is the program (the `torchlite` script, or `python -m` importing it): a
process that merely imports it (a test run, say) keeps its own Ctrl-C.
"""

import atexit
import os
import signal
import sys
import threading


def _quiet_interrupt(signum, frame):  # noqa: ARG001 - the signal handler's signature
    os._exit(130)  # no exception: there is nothing to clean up, and nobody can swallow it


PREVIOUS_SIGINT = signal.getsignal(signal.SIGINT)
# argv[0] is "-m" while `python -m torchlite_cli` imports this package
_PROGRAM = bool(sys.argv) and (sys.argv[0] == "-m" or
                               os.path.splitext(os.path.basename(sys.argv[0]))[0] == "torchlite")
if _PROGRAM and threading.current_thread() is threading.main_thread() and \
        PREVIOUS_SIGINT is signal.default_int_handler:
    signal.signal(signal.SIGINT, _quiet_interrupt)

_KEPT_CODE: list[int] = []


def _exit_with_kept_code() -> None:
    if _KEPT_CODE:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
                pass
        os._exit(_KEPT_CODE[-1])


if _PROGRAM:
    # registered before any library's exit hook, so it runs after all of them (last in, first
    # out): see keep_exit_code
    atexit.register(_exit_with_kept_code)


def ctrl_c_raises() -> None:
    """From here Ctrl-C raises KeyboardInterrupt: called before the first call that can write.

    The handler also records the Ctrl-C (torchlite.training.interrupts), since Python drops a
    KeyboardInterrupt raised inside a finalizer: the trainer and `main._run` see the record.
    Python reports such a drop as "Exception ignored" with a traceback; for a Ctrl-C that is
    recorded, and answered, that report is noise, so the program leaves it out.
    """
    if signal.getsignal(signal.SIGINT) is _quiet_interrupt:
        from torchlite.training.interrupts import record_and_raise

        signal.signal(signal.SIGINT, record_and_raise)
        _RAISING[0] = record_and_raise
        sys.unraisablehook = _unless_interrupt(sys.unraisablehook)


def ctrl_c_ends() -> None:
    """The command is over: a Ctrl-C while the process exits (joining threads, running exit
    hooks) makes the exit status 130 and lets the exit finish, where a KeyboardInterrupt
    raised there would print a traceback and exit 1; a second Ctrl-C exits at once."""
    handler = signal.getsignal(signal.SIGINT)
    if handler is _quiet_interrupt or (handler is not None and handler is _RAISING[0]):
        signal.signal(signal.SIGINT, _interrupt_at_exit)


def _interrupt_at_exit(signum, frame):  # noqa: ARG001 - the signal handler's signature
    if _AT_EXIT:
        os._exit(130)
    _AT_EXIT.append(signum)
    keep_exit_code(130)


_AT_EXIT: list[int] = []
_RAISING: list = [None]  # the handler ctrl_c_raises installed


def _unless_interrupt(hook):
    def report(unraisable) -> None:
        from torchlite.training.interrupts import received

        # only a recorded one is answered; a second Ctrl-C the trainer raises is not recorded
        if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and received()):
            hook(unraisable)

    return report


def keep_exit_code(code: int) -> int:
    """Make `code` the exit status of an interrupted command; returns it.

    CPython remembers a KeyboardInterrupt that passed through an exec() or eval() of a string
    (dataclasses, typing and pydantic run some while modules load), even one caught later, and
    at exit kills the process with SIGINT instead of returning the status it was given (seen
    with 3.11): a Ctrl-C the command handled (saved, said "interrupted") would look to a parent
    process like death by signal, not the documented 130. The exit hook above ends the process
    with `code` once every other exit hook has run.
    """
    _KEPT_CODE.append(code)
    return code
