"""Recording a run that failed because its files could not be written (a full disk, a quota,
a read-only folder): summary.json says `failed` and train.log has the reason, where the disk
allows.

An atomic write needs room for a second copy, which a full disk does not have. summary.json is
written (status `running`) when training starts, so on a full disk its bytes can still be
replaced where they lie: truncating frees its block and the new text, as short, takes it again.
That in-place write is not atomic; it is the fallback only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .runs import RunPaths, append_log, json_safe, write_summary

__all__ = ["record_write_failure", "write_error_reason"]


def write_error_reason(exc: OSError) -> str:
    """'cannot write PATH: REASON' for an OSError met while writing the run's files."""
    from torchlite.serialization import WRITE_ERROR_ATTR

    target = getattr(exc, WRITE_ERROR_ATTR, None) or exc.filename
    reason = exc.strerror or str(exc)
    return f"cannot write {target}: {reason}" if target else f"cannot write: {reason}"


def record_write_failure(paths: RunPaths, summary: dict, reason: str) -> None:
    """summary.json with `summary` (status failed) and `end: failed (reason)` in train.log,
    each as far as the disk allows; never raises an OSError of its own."""
    try:
        write_summary(paths, summary)
    except OSError:
        _rewrite_in_place(paths.summary, summary)
    try:
        append_log(paths.log, f"end: failed ({reason})")
    except OSError:
        pass


def _rewrite_in_place(path: Path, summary: dict) -> None:
    text = (json.dumps(json_safe(summary), indent=2, allow_nan=False) + "\n").encode()
    if path.is_symlink() or not path.is_file():
        return  # never written through a link; no file to reuse the room of
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return
    try:
        os.ftruncate(fd, 0)
        os.write(fd, text)
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
