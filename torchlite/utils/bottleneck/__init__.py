"""Where a script spends its time, as `torch.utils.bottleneck`:

    python -m torchlite.utils.bottleneck script.py [args ...]

runs the script twice, once under Python's cProfile and once under torchlite.profiler, and
prints an environment summary, cProfile's top functions by own time and the profiler's top ops
by total CPU time (with GPU time on a GPU). The script sees `sys.argv` as `[script.py, args...]`
and `__name__ == "__main__"`. Run the script for a few steps only: everything it does, twice.

The functions here build the report; `__main__.py` prints it.
"""

from __future__ import annotations

import cProfile
import io
import os
import platform
import pstats
import runpy
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["ScriptExit", "cprofile_summary", "environment_summary", "profiler_summary",
           "run_cprofile", "run_profiler"]

CPROFILE_SORT, CPROFILE_TOP = "tottime", 15
PROFILER_SORT, PROFILER_TOP = "cpu_time_total", 15
RULE = "-" * 80


class ScriptExit(Exception):
    """The script ended with sys.exit(code) for a non-zero code: nothing more is run."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the script exited with code {code}")
        self.code = code


def _section(title: str, body: str) -> str:
    return f"{RULE}\n  {title}\n{RULE}\n{body.rstrip()}\n"


def _run(path: str, args: Sequence[str], wrap: Any) -> None:
    """Run the script the user named as `__main__` (as `python script.py` would, through the
    standard library's runpy), with its own argv and folder first on sys.path; `wrap(fn)` runs
    `fn` under the profiler of the caller's choice."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such script")
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        wrap(lambda: runpy.run_path(path, run_name="__main__"))
    except SystemExit as exc:  # sys.exit() in the script: 0 or None is a normal end
        if exc.code not in (None, 0):
            raise ScriptExit(exc.code if isinstance(exc.code, int) else 1) from None
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def run_cprofile(path: str, args: Sequence[str] = ()) -> pstats.Stats:
    """Run the script under cProfile; its statistics."""
    prof = cProfile.Profile()

    def wrap(fn):
        prof.enable()
        try:
            fn()
        finally:
            prof.disable()

    _run(path, args, wrap)
    return pstats.Stats(prof)


def run_profiler(path: str, args: Sequence[str] = ()) -> Any:
    """Run the script under torchlite.profiler (CPU, and CUDA where a GPU is usable)."""
    from ...profiler import profile, supported_activities

    prof = profile(activities=supported_activities())

    def wrap(fn):
        with prof:
            fn()

    _run(path, args, wrap)
    return prof


def environment_summary() -> str:
    """Versions and the GPU, as the first section of the report."""
    import numpy as np

    import torchlite

    from ... import backend

    if backend.cuda_available():
        cuda = f"CUDA available: {backend.cuda_device_name(0)} (cupy)"
    else:
        cuda = "CUDA not available: the profiler records CPU time only"
    body = (f"torchlite {torchlite.__version__}, NumPy {np.__version__}, Python "
            f"{platform.python_version()} on {platform.platform()}\n{cuda}")
    return _section("Environment Summary", body)


def cprofile_summary(stats: pstats.Stats, sort_by: str = CPROFILE_SORT,
                     top: int = CPROFILE_TOP) -> str:
    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    stats.sort_stats(sort_by).print_stats(top)
    return _section(f"cProfile output (top {top} functions by {sort_by})", buf.getvalue())


def profiler_summary(prof: Any, sort_by: str = PROFILER_SORT, top: int = PROFILER_TOP) -> str:
    table = prof.key_averages().table(sort_by=sort_by, row_limit=top)
    from ...profiler import ProfilerActivity, supported_activities

    mode = "CPU and CUDA" if ProfilerActivity.CUDA in supported_activities() else "CPU"
    note = "" if table else "(no torchlite ops ran)"
    return _section(f"torchlite.profiler output ({mode}; top {top} ops by {sort_by})",
                    table or note)
