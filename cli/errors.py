"""Maps library exceptions to one-line messages and the exit codes of DESIGN.md section 6.

The exit code comes from the exception's class, never from its message: a torchlite.errors
class carries it (`exit_code`), and any other exception, a ValueError or RuntimeError included,
is a bug in torchlite or in what called it: exit 1, "internal error", with the traceback under
--debug. A library function that meets bad data, input or usage raises a torchlite.errors class.

Running out of memory (GPU or host) exits with 1: it is not a fault of the config (2) or of
the data, input or checkpoint (3), since the same command succeeds on a machine with more
memory; it is a failure at run time, the kind 1 stands for, but with its own clear message (the
bytes requested, the pool's usage, the fix) instead of "internal error".

Filesystem errors name the path and the OS's reason, never "internal error":
- failing to write (a read-only or full disk, no permission on the output folder, a file where
  a folder is needed): exit 1, "cannot write PATH: REASON". Like running out of memory it is a
  failure of the place the command runs in, not of its config or inputs. torchlite marks the
  OSErrors of its own writes (serialization.writing); ENOSPC, EROFS, EDQUOT and EFBIG are
  writes whoever raised them.
- failing to read an input (a config, data file, checkpoint or run folder that is missing,
  unreadable, a folder where a file is needed or the other way round): exit 3, "cannot read
  PATH: REASON".
- other OSErrors that name a file (an I/O error, say): exit 1 with the same kind of line.

Ctrl-C: TrainingInterrupted comes from the trainer after it saved `last` and the training
state, so only it says so; a KeyboardInterrupt anywhere else (eval, infer, the set-up of train)
saved nothing and says just "interrupted". Both exit with 130.
"""

from __future__ import annotations

import errno
from pathlib import Path

# the exit codes of torchlite.errors, repeated so that `torchlite --help` imports no torchlite
OK, INTERNAL, USAGE, BAD_DATA, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 4, 130

_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_BAD_INPUT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
              FileExistsError)


def classify(exc: BaseException, run_dir: str | None = None) -> tuple[int, str]:
    """(exit code, message) for an exception raised by a command; `run_dir` is the training
    run's folder where known (TrainingInterrupted does not carry it)."""
    from torchlite.errors import MachineError, TorchliteError, TrainingDiverged, TrainingInterrupted

    if isinstance(exc, TrainingInterrupted):
        where = f" in {run_dir}" if run_dir else ""
        return INTERRUPTED, f"interrupted ({str(exc) or 'SIGINT'}); the last weights and " \
                            f"training state were saved{where}: continue with torchlite train " \
                            f"--resume {run_dir or 'RUN_DIR'}"
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, "interrupted"
    if isinstance(exc, TrainingDiverged):
        return DIVERGED, f"training diverged: {exc}"
    if isinstance(exc, TorchliteError) and (exc.exit_code != INTERNAL or
                                            isinstance(exc, MachineError)):
        return exc.exit_code, str(exc)
    if isinstance(exc, OSError) and (exc.filename is not None or _written(exc)):
        return _os_error(exc)
    if isinstance(exc, MemoryError):  # NumPy: "Unable to allocate 2.00 GiB for an array ..."
        return INTERNAL, f"out of host memory: {exc or 'an allocation failed'}; try a smaller " \
                         "batch size"
    # anything else, a plain ValueError or RuntimeError included, is a bug: never "bad data"
    return INTERNAL, f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the " \
                     "traceback)"


def _written(exc: OSError) -> str | None:
    """The file torchlite was writing when `exc` happened, if it was writing."""
    from torchlite.serialization import WRITE_ERROR_ATTR

    target = getattr(exc, WRITE_ERROR_ATTR, None)
    if target is None and exc.errno in _WRITE_ERRNOS:
        target = exc.filename
    return target


def _os_error(exc: OSError) -> tuple[int, str]:
    """'cannot write|read PATH: REASON', with the exit code of the module docstring."""
    target = _written(exc)
    name = exc.filename if exc.filename is not None else target
    reason = exc.strerror or str(exc)
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        blocker = _file_in_the_way(name)
        if blocker is not None:
            reason = f"{blocker} is a file, not a folder"
    elif exc.filename is not None and target is not None and str(exc.filename) != str(target):
        reason = f"{reason}: {exc.filename}"  # a folder on the way to the target, say
    if exc.filename2 is not None:
        reason = f"{reason} ({exc.filename} -> {exc.filename2})"
    if target is not None:
        return INTERNAL, f"cannot write {target}: {reason}"
    code = BAD_DATA if isinstance(exc, _BAD_INPUT) else INTERNAL
    return code, f"cannot read {name}: {reason}"


def _file_in_the_way(path) -> Path | None:
    """The path, or the nearest of its parents, that exists as something other than a folder."""
    p = Path(path)
    for candidate in (p, *p.parents):
        try:
            if candidate.exists():
                return None if candidate.is_dir() else candidate
        except OSError:
            return None
    return None
