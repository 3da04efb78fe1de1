"""What keeps a run folder to one run: an OS lock held for the run's life, and never writing
through a symbolic link.

A run folder holds weights, logs and metrics that eval, infer and --resume trust to belong to
one run. Two processes writing into it at once would mix them, and a link in it could send a
delete, replace or append to anywhere (another run, a user's file): both are refused with a
usage error (exit 2) that says what to do.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import socket
import stat
import time
from pathlib import Path

from ..errors import UsageError
from ..serialization import writing

try:
    import fcntl
except ImportError:  # Windows: msvcrt.locking instead (see RunLock)
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunFolderBusyError", "RunFolderError", "RunLock", "link_error", "open_no_follow"]


class RunFolderError(UsageError):
    """A run folder torchlite will not write into: a symbolic link where it would delete,
    replace or append a file (exit code 2, as a usage error)."""


class RunFolderBusyError(RunFolderError):
    """Another process holds the run folder's lock; the message names it (exit code 2)."""


def link_error(path: Path, hint: str | None = None) -> RunFolderError:
    """The refusal of a symbolic link at `path`, naming its target; `hint` says what to do."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return RunFolderError(
        f"{path} is a symbolic link (to {target}): torchlite never deletes, replaces or appends "
        "through a link in a run folder, whose target may be another run's or anyone's files; "
        f"{hint or 'remove the link, or put a real file or folder in its place'}")


def open_no_follow(path: Path, flags: int, mode: int = 0o666) -> int:
    """os.open that refuses (RunFolderError) a symbolic link at `path` instead of following it,
    and anything but a regular file with no other name: a hard link would be written through
    to the file it shares, a pipe or device would block or be fed. O_NONBLOCK (a no-op for
    regular files) keeps opening a pipe from hanging before it is refused."""
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if not nofollow and os.path.islink(path):  # Windows has no O_NOFOLLOW: check just before
        raise link_error(path)
    try:
        fd = os.open(path, flags | nofollow | getattr(os, "O_NONBLOCK", 0), mode)
    except OSError as exc:
        # ELOOP on Linux and macOS, EMLINK on FreeBSD, for O_NOFOLLOW meeting a link
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise link_error(path) from None
        if exc.errno in (errno.EISDIR, errno.ENXIO):  # a folder; a pipe nobody reads
            raise _not_own_file(path, "not a regular file") from None
        raise
    info = os.fstat(fd)
    problem = "not a regular file" if not stat.S_ISREG(info.st_mode) else \
        f"a hard link ({info.st_nlink} names share it)" if info.st_nlink > 1 else None
    if problem:
        os.close(fd)
        raise _not_own_file(path, problem)
    return fd


def _not_own_file(path: Path, problem: str) -> RunFolderError:
    return RunFolderError(f"{path} is {problem}: torchlite writes only to regular files of its "
                          "own in a run folder; remove it")


# -- the run folder's lock ------------------------------------------------------------------------
_WINDOWS_LOCK_BYTE = 1 << 30  # msvcrt locks are mandatory: lock past the holder's text


class RunLock:
    """An exclusive OS lock on a run folder, held by one process for a run's life.

    It is `flock` on `<folder>/.lock`, whose text names the holder (pid, host, start time) so a
    refused process can say who has the folder (RunFolderBusyError). The OS drops the lock when
    its holder exits, however it dies (SIGKILL included), so a lock is never stale. The file is
    removed on release while still locked; an acquirer that locked a file removed meanwhile
    tries the new one. On Windows (no fcntl) msvcrt.locking locks one byte of the same file.
    """

    FILE = ".lock"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / self.FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        """Take the lock, or raise RunFolderBusyError naming the process that holds it."""
        if self._fd is not None:
            return self
        for _ in range(100):
            with writing(self.folder):
                fd = open_no_follow(self.path, os.O_RDWR | os.O_CREAT)
            try:
                locked = _try_lock(fd)
                if not locked:
                    raise RunFolderBusyError(self._busy_message(_read_holder(fd)))
            except BaseException:
                os.close(fd)
                raise
            if self._is_current(fd):
                break
            os.close(fd)  # its holder released it (removing the file) after our open
        else:  # pragma: no cover - the file removed under us a hundred times
            raise RunFolderBusyError(f"{self.folder}: its lock file keeps changing")
        self._fd = fd
        self._write_holder(fd)
        return self

    def release(self) -> None:
        """Give the lock up (removing the lock file); does nothing when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if self._is_current(fd):  # removed while locked: nobody can lock the old file after
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        if fcntl is None:
            import msvcrt

            with contextlib.suppress(OSError):
                os.lseek(fd, _WINDOWS_LOCK_BYTE, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _is_current(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.lstat(self.path))
        except OSError:
            return False

    def _write_holder(self, fd: int) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
        # only for the message of a refused process: the lock holds whether or not this lands
        with contextlib.suppress(OSError):
            # (ext4 flushes a file truncated to 0 when it is closed: ms at every release)
            if os.fstat(fd).st_size:
                os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(info).encode())

    def _busy_message(self, holder: dict | None) -> str:
        who = "another process"
        if holder:
            who = f"process {holder.get('pid', '?')} on {holder.get('host', '?')}"
            if holder.get("since"):
                who += f" (since {holder['since']})"
        return (f"{self.folder} is in use by another torchlite run: {who} holds its lock "
                f"({self.path}); two runs in one folder would mix their weights and logs. Wait "
                "for that run to end (or stop it), or train without --exist-ok to get a new "
                "folder")


def _try_lock(fd: int) -> bool:
    """Lock `fd` without waiting: False when another process holds it."""
    if fcntl is None:
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        # a file system without locks (some network mounts): run unprotected, as before locks
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            return True
        raise
    return True


def _read_holder(fd: int) -> dict | None:
    """The holder's pid/host/start from a lock file (None when unreadable). A holder writes
    them just after locking, so an empty file is read again for a moment."""
    for _ in range(20):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 4096)
        except OSError:
            return None
        if text:
            try:
                info = json.loads(text)
            except (ValueError, RecursionError):  # anyone may write into the file
                info = None
            if isinstance(info, dict):
                return info
        time.sleep(0.01)
    return None
