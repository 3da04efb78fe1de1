"""The `torchlite` command line (installed as the package `torchlite_cli`).

A Ctrl-C while Python is still importing the CLI (or while click parses the arguments) would
print a traceback of import machinery or click's "Aborted!": until the command starts
(main._Group.invoke), SIGINT exits quietly with 130, as an interrupted command does. Only when
this package is the program (the `torchlite` script, or `python -m` importing it): a process that
merely imports it (a test run, say) keeps its own Ctrl-C.
"""

import os
import signal
import sys
import threading


def _quiet_interrupt(signum, frame):  # noqa: ARG001 - the signal handler's signature
    raise SystemExit(130)


PREVIOUS_SIGINT = signal.getsignal(signal.SIGINT)
# argv[0] is "-m" while `python -m torchlite_cli` imports this package
_PROGRAM = bool(sys.argv) and (sys.argv[0] == "-m" or
                               os.path.splitext(os.path.basename(sys.argv[0]))[0] == "torchlite")
if _PROGRAM and threading.current_thread() is threading.main_thread() and \
        PREVIOUS_SIGINT is signal.default_int_handler:
    signal.signal(signal.SIGINT, _quiet_interrupt)
