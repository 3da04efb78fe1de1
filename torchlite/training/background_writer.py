"""The run's files written off the training path: serialised by the trainer, written by a thread.

A checkpoint is replaced atomically and durably (serialization.atomic_write_bytes: a temporary
file, fsync, rename, fsync of the folder). The fsyncs wait for the disk, often longer than an
epoch of a small model takes to train, so while a run trains the trainer only copies its state
into immutable bytes (a snapshot: training may go on changing the arrays) and hands them to a
writer thread, which computes the checkpoints' digests and writes them while the next epoch
trains.

Files are handed over in groups, one per epoch (`write` adds a file to the open group,
`commit` closes it), and written in the order they were given, a group after the one before,
so a crash at any instant leaves on disk what a run writing them itself would have left at
some instant: metrics.csv never lacks a row that the training state counts, and the training
state is never newer than `last`. When the disk is slower than the epochs, a group still
waiting is merged with the newer one (its files not in the newer group first, then the newer
group's), so at most one group waits and no file is written twice for nothing.

A failed write (a full disk, a read-only folder) drops the files after it (none is written
until the block ends), and its OSError is raised, as it was, by the next `write` or by `wait`
(which the end of `background` calls: a run ends only once its last files are on disk).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from torchlite.serialization import atomic_write_bytes

__all__ = ["BackgroundWriter"]

# bytes, buffers written one after the other, or a callable giving them: called on the writer's
# thread, so work that can wait (a checkpoint's digests) leaves the training thread too
Data = bytes | Sequence[bytes] | Callable[[], bytes | Sequence[bytes]]


class BackgroundWriter:
    """Writes files with `write_file` (atomic_write_bytes by default): at once, or, inside
    `background()`, on a thread of its own, in order (see the module's docstring)."""

    def __init__(self, write_file: Callable[[Path, Data], object] | None = None) -> None:
        self._write_file = write_file or atomic_write_bytes
        self._cond = threading.Condition()
        self._open: dict[Path, Data] = {}  # this epoch's files, not yet committed
        self._queued: dict[Path, Data] | None = None  # a committed group, not yet started
        self._busy = False  # the thread is writing a group
        self._error: BaseException | None = None  # raised once, by the next write or wait
        self._failed = False  # a write failed: nothing more is written until the block ends
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._given: set[Path] = set()  # every path handed over while in the background

    # -- the trainer's side ----------------------------------------------------------------------
    def write(self, path: str | os.PathLike, data: Data) -> None:
        """Write `data` (bytes, or buffers written one after the other) to `path`: now, or
        with the open group in the background. Raises the error of a failed earlier write."""
        path = Path(path)
        if self._thread is None:
            self._write_file(path, _resolved(data))
            return
        self._raise_error()
        if not self._failed:
            self._open[path] = data
            self._given.add(path)

    def commit(self) -> None:
        """Hand the open group to the thread (nothing to do when not in the background)."""
        if not self._open:
            return
        group, self._open = self._open, {}
        with self._cond:
            if self._failed:  # files after a failed one must not be written
                return
            if self._queued:  # not started yet: the newer files replace it, in its place
                group = {**{p: d for p, d in self._queued.items() if p not in group}, **group}
            self._queued = group
            self._cond.notify_all()

    def wait(self) -> None:
        """Commit, then return once every file handed over is on disk; raises the error of a
        failed write."""
        self.commit()
        with self._cond:
            while self._thread is not None and (self._queued or self._busy):
                self._cond.wait()
        self._raise_error()

    def exists(self, path: str | os.PathLike) -> bool:
        """Whether `path` is on disk or handed over to be written."""
        path = Path(path)
        return path in self._given or path.exists()

    @contextlib.contextmanager
    def background(self) -> Iterator[BackgroundWriter]:
        """Write on a thread until the block ends; the end waits until every file is on disk
        and raises the error of a failed write (instead of the block's exception, if any: the
        run could not write its files)."""
        if self._thread is not None:
            raise RuntimeError("the writer is already writing in the background")
        self._stopping, self._error, self._failed, self._given = False, None, False, set()
        self._thread = threading.Thread(target=self._run, name="torchlite-file-writer",
                                        daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            try:
                self.wait()
            finally:
                self._stop()

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queued and not self._stopping:
                    self._cond.wait()
                if not self._queued:
                    return
                group, self._queued = self._queued, None
                self._busy = True
            try:
                for path, data in group.items():
                    self._write_file(path, _resolved(data))
            except BaseException as exc:  # noqa: BLE001 (handed to the trainer's thread)
                with self._cond:
                    self._error, self._failed, self._queued = exc, True, None
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread.join()
        self._thread, self._open, self._queued = None, {}, None
        self._raise_error()

    def _raise_error(self) -> None:
        with self._cond:
            exc, self._error = self._error, None
        if exc is not None:
            raise exc


def _resolved(data: Data) -> bytes | Sequence[bytes]:
    return data() if callable(data) else data
