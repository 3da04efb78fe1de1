"""The collective timeout: a daemon thread ends a rank whose collective outlives the timeout.

MPI has no timeout of its own, so a peer that stopped answering (stuck, or exited without
reaching the collective) would hang every other rank. Each collective marks its start here; the
thread, waking once a second, prints which rank waited on what and ends the process, so that
`mpirun` stops the whole job.
"""

from __future__ import annotations

import os
import sys
import threading
import time


class Watchdog:
    """`with dog.guard('all_reduce'):` bounds the collective inside by `timeout` seconds."""

    def __init__(self, rank: int, timeout: float) -> None:
        self.rank = rank
        self.timeout = timeout
        self._op: str | None = None
        self._since = 0.0
        self._depth = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="torchlite-dist-watchdog",
                                        daemon=True)
        self._thread.start()

    def start(self, op: str) -> None:
        if self._depth == 0:
            self._op, self._since = op, time.monotonic()
        self._depth += 1

    def done(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._op = None

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        tick = min(1.0, max(self.timeout / 10, 0.05))
        while not self._stop.wait(tick):
            op = self._op
            if op is not None and time.monotonic() - self._since > self.timeout:
                sys.stderr.write(
                    f"torchlite.distributed: rank {self.rank}: {op} did not complete within "
                    f"{self.timeout:g} s (another rank failed, exited or stopped answering); "
                    "ending this rank\n"
                )
                sys.stderr.flush()
                os._exit(1)
