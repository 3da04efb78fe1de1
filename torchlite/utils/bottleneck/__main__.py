"""`python -m torchlite.utils.bottleneck script.py [args ...]`: cProfile and torchlite.profiler
summaries of a script (see the package docstring). This entry point is the only part that
prints."""

from __future__ import annotations

import argparse
import os
import sys

from . import (
    ScriptExit,
    cprofile_summary,
    environment_summary,
    profiler_summary,
    run_cprofile,
    run_profiler,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m torchlite.utils.bottleneck",
        description="Run a script under cProfile and torchlite.profiler and summarise both.")
    parser.add_argument("scriptfile", help="the Python script to run (it runs twice)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    ns = parser.parse_args(argv)
    if not os.path.isfile(ns.scriptfile):
        print(f"error: no such script: {ns.scriptfile}", file=sys.stderr)
        return 2
    print("torchlite.utils.bottleneck: runs the script under cProfile, then under "
          "torchlite.profiler.\nBoth runs time everything the script does; keep it to a few "
          "steps.\n", flush=True)
    env = environment_summary()
    try:
        print("Running the script under cProfile...", flush=True)
        stats = run_cprofile(ns.scriptfile, ns.args)
        print("Running the script under torchlite.profiler...", flush=True)
        prof = run_profiler(ns.scriptfile, ns.args)
    except ScriptExit as exc:
        print(f"error: {exc}; no summary", file=sys.stderr)
        return exc.code
    print()
    print(env)
    print(cprofile_summary(stats))
    print(profiler_summary(prof))
    return 0


if __name__ == "__main__":
    sys.exit(main())
