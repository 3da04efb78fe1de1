"""The `torchlite` command line (installed as the package `torchlite_cli`).

A Ctrl-C while Python is still importing the CLI would print a traceback of import machinery:
until the app starts (main._Group.main), SIGINT exits quietly with 130, as an interrupted command
does.
"""

import signal
import threading


def _quiet_interrupt(signum, frame):  # noqa: ARG001 - the signal handler's signature
    raise SystemExit(130)


PREVIOUS_SIGINT = signal.getsignal(signal.SIGINT)
if threading.current_thread() is threading.main_thread() and \
        PREVIOUS_SIGINT is signal.default_int_handler:
    signal.signal(signal.SIGINT, _quiet_interrupt)
