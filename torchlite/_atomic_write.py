"""Atomic file writes (a temporary file in the same folder, fsync, rename) and the marking of
the OSErrors they raise, for every file torchlite writes (DESIGN.md section 5). Re-exported by
torchlite.serialization, where callers import them from.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import stat
from collections.abc import Sequence
from pathlib import Path

WRITE_ERROR_ATTR = "torchlite_writing"
# names of temporary files: O_EXCL settles a clash, so they need not be secret, only distinct;
# a generator of our own (seeded from os.urandom) asks the OS for nothing per name and leaves
# the `random` module's sequence, which users seed, alone
_names = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_names.seed)
_JOIN_BELOW = 1 << 16  # parts smaller than this go out with the next one, in one write()


def is_write_error(exc: BaseException) -> bool:
    """True for an OSError raised while torchlite wrote a file (see `writing`)."""
    return isinstance(exc, OSError) and getattr(exc, WRITE_ERROR_ATTR, None) is not None


@contextlib.contextmanager
def writing(path):
    """Mark an OSError raised inside as a failure to write `path`.

    The exception keeps its type (a PermissionError stays one); it records `path` in
    `exc.torchlite_writing`, and as its filename when the OS named none (a failed write() or
    fsync() on a descriptor names no file). The CLI tells failed writes from unreadable inputs
    by this mark, since both raise the same OSError subclasses.
    """
    try:
        yield
    except OSError as exc:
        if getattr(exc, WRITE_ERROR_ATTR, None) is None:
            setattr(exc, WRITE_ERROR_ATTR, os.fspath(path))
        if exc.filename is None and exc.errno is not None:  # (without errno str() would change)
            exc.filename = os.fspath(path)
        raise


def temp_path(path, token: str) -> Path:
    """The temporary file `atomic_write_bytes` writes before renaming it over `path`:
    `.NAME.TOKEN.tmp` in the same folder, TOKEN being 8 lowercase hex digits."""
    path = Path(path)
    return path.parent / f".{path.name}.{token}.tmp"


def temp_name_pattern(names: str) -> re.Pattern:
    """The names of the temporary files (see `temp_path`) of the files whose names match the
    regular expression `names`."""
    return re.compile(r"\.(?:" + names + r")\.[0-9a-f]{8}\.tmp")


def stale_temp_files(path) -> list[Path]:
    """Temporary files of `path` (see `temp_path`) that a killed write left behind (SIGKILL or
    power loss between creating and renaming one). Safe to delete when nothing is writing
    `path`."""
    path = Path(path)
    pattern = temp_name_pattern(re.escape(path.name))
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    return sorted(path.parent / n for n in names if pattern.fullmatch(n))


def _create_temp(path: Path) -> tuple[int, str]:
    """A new temporary file beside `path`. Created with mode 0o666, so the umask applies as with
    open() (tempfile.mkstemp would make it 0o600 whatever the umask)."""
    for _ in range(100):
        tmp = os.fspath(temp_path(path, f"{_names.getrandbits(32):08x}"))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                           0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.fspath(path))


def _write_all(fd: int, data) -> None:
    """Write every byte of `data` (a buffer, or buffers one after the other) to `fd`, small
    buffers joined to the next: each system call is a wait for a writer thread (GIL)."""
    parts = (data,) if isinstance(data, (bytes, bytearray, memoryview)) else data
    small: list = []
    for part in parts:
        view = memoryview(part)
        if view.nbytes < _JOIN_BELOW:
            small.append(view)
            continue
        if small:
            _write_fully(fd, b"".join(small))
            small = []
        _write_fully(fd, view)
    if small:
        _write_fully(fd, b"".join(small))


def _write_fully(fd: int, buf) -> None:
    view = memoryview(buf).cast("B")
    while view.nbytes:
        n = os.write(fd, view)
        if n <= 0:  # (a regular file takes something or raises; never spin)
            raise OSError(errno.EIO, "the file accepted no bytes")
        view = view[n:]


def atomic_write_bytes(path, data: bytes | Sequence[bytes | memoryview]) -> Path:
    """Write `data` (bytes, or a sequence of buffers written one after the other) to a
    temporary file in the same folder, fsync, then rename over `path`.

    A crash at any instant leaves either the old file or the new one, never a partial file. A new
    file gets the mode open() would give (0o666 less the umask); a replaced file keeps its mode.
    OSErrors name `path` (not the temporary file) and are marked by `writing`.
    """
    path = Path(path)
    with writing(path):
        if not os.path.isdir(path.parent):
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            old_mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            old_mode = None
        try:
            fd, tmp = _create_temp(path)
        except OSError as exc:
            exc.filename = os.fspath(path)
            raise
        try:
            try:
                if old_mode is not None:
                    os.chmod(tmp, old_mode)
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError) and exc.filename == tmp:  # os.replace: tmp -> path
                exc.filename, exc.filename2 = os.fspath(path), None
            raise
    # make the rename itself durable (POSIX; not possible, nor needed, on Windows)
    with contextlib.suppress(OSError, AttributeError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path
