"""A benchmark worker: one framework in a process of its own, driven by the runner.

    python -m torchlite.benchmark._worker FRAMEWORK DEVICE THREADS

Each framework gets its own process because allocator settings and thread pools leak between
frameworks that share one. The runner sets the thread environment (OMP_NUM_THREADS, ...) before
starting the process, since BLAS libraries read it once, when they load.

The protocol is JSON lines: one command on stdin, one reply on stdout. The first reply comes
unasked: {"ok": true, "versions": ...} when the framework is ready, {"ok": false, "unavailable":
why} when it cannot run here (PyTorch not installed, no GPU). Commands:

    {"cmd": "setup", "suite": S, "params": P}  build the row, run its first steps; reply
                                               {"ok": true, "check": {...}} or {"ok": true,
                                               "skip": true} when the framework has no part in it
    {"cmd": "warmup", "n": N}                  N untimed steps
    {"cmd": "time", "n": N}                    N timed steps; reply {"ok": true, "times": [s...]}
                                               (+ "phases": {name: s} of the last step, for
                                               cases that have a `phases` dict)
    {"cmd": "quit"}                            exit (so does the end of stdin)

The `profiled` framework is torchlite with torchlite.profiler recording every step; each command
gets a fresh profile (started and stopped outside the timed steps), so that the events of one
block do not pile up into the next one's times.

A failing command replies {"ok": false, "error": message, "traceback": text}.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from typing import Any

import numpy as np

from ._common import PROFILED, Env, suite_module


class Unavailable(Exception):
    """The framework cannot run on this machine (not an error of the benchmark)."""


def start(framework: str, device: str, threads: int) -> tuple[Env, dict]:
    versions = {"numpy": np.__version__, "python": sys.version.split()[0]}
    info: dict = {"versions": versions}
    if framework == "torch":
        try:
            import torch
        except Exception as exc:  # a broken install is as absent as a missing one
            raise Unavailable(f"PyTorch cannot be imported ({type(exc).__name__}: {exc})") from None
        if device == "cuda":
            if not torch.cuda.is_available():
                raise Unavailable(f"PyTorch {torch.__version__} sees no CUDA GPU")
            # TF32 products round to 10-bit mantissas: not the float32 math of the others
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        if threads:
            torch.set_num_threads(threads)
        versions["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    elif framework in ("torchlite", PROFILED):
        import torchlite

        if threads:  # its own intra-op pool (chunked optimizer updates), as torch's above
            torchlite.set_num_threads(threads)
        info["torchlite_threads"] = torchlite.get_num_threads()
    return Env(framework, device), info


def timed_steps(case, env: Env, n: int) -> list[float]:
    clock = time.perf_counter
    out = []
    for _ in range(n):
        t0 = clock()
        case.step()
        env.sync()
        out.append(clock() - t0)
    return out


class Recording:
    """The profile a `profiled` worker runs its commands under: a new one for each."""

    def __init__(self) -> None:
        self.prof: Any = None

    def restart(self) -> None:
        from torchlite import profiler

        self.stop()
        self.prof = profiler.profile()
        self.prof.start()

    def stop(self) -> None:
        if self.prof is not None:
            self.prof.stop()
            self.prof = None


def serve(env: Env, reply) -> None:
    case = None
    recording = Recording() if env.framework == PROFILED else None
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        msg = json.loads(line)
        cmd = msg.get("cmd")
        if cmd == "quit":
            return
        try:
            if recording is not None:
                recording.restart()
            if cmd == "setup":
                case = None  # free the previous row (10M-parameter rows are large) first
                gc.collect()
                case = suite_module(msg["suite"]).build(env, msg["params"])
                if case is None:
                    reply(ok=True, skip=True)
                    continue
                check = case.check()
                env.sync()
                reply(ok=True, check=check)
            elif cmd == "warmup":
                for _ in range(msg["n"]):
                    case.step()
                env.sync()
                reply(ok=True)
            elif cmd == "time":
                times = timed_steps(case, env, msg["n"])
                # a case that splits its step into phases (suite `train`) reports the last one's
                phases = getattr(case, "phases", None)
                reply(ok=True, times=times, **({"phases": phases} if phases else {}))
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as exc:
            reply(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())


def main(argv: list[str]) -> int:
    framework, device, threads = argv[0], argv[1], int(argv[2])
    # the protocol owns the real stdout; whatever a library prints goes to stderr instead
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    def reply(**msg) -> None:
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    try:
        env, info = start(framework, device, threads)
    except Unavailable as exc:
        reply(ok=False, unavailable=str(exc))
        return 0
    except Exception as exc:
        reply(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return 1
    reply(ok=True, **info)
    serve(env, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
