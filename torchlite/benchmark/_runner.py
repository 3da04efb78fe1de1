"""The parent side of a benchmark run: worker processes, turn-taking, the agreement check.

One worker process per framework (see _worker.py). For each row every worker builds its side and
reports its first-step numbers; they must agree before anything is timed. Then each worker warms
up, and the workers take turns running blocks of timed steps, one worker at a time, until each
has `repeat` steps: drifts in machine load (and the caches a block leaves cold for the next)
fall on every framework alike. The parent does no numeric work of its own while timing.
"""

from __future__ import annotations

import json
import math
import os
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from ._common import FRAMEWORKS, PROFILED, BenchmarkError, RowSpec, suite_module
from ._report import BenchReport, RowResult, Timing, cpu_count, machine

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")
# Two float32 computations of the same math differ by rounding in the order of operations (BLAS
# blocking, fused kernels); a real difference (another learning rate, a missing term) is orders
# of magnitude larger.
RTOL, ATOL = 1e-4, 1e-6


class WorkerTraceback(Exception):
    """The traceback of a failure inside a worker, chained to the BenchmarkError it caused."""


def worker_environ(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    if threads:  # BLAS and OpenMP read these once, when they load: before the worker imports
        for var in THREAD_VARS:
            env[var] = str(threads)
    # the workers must import this torchlite, also from a checkout that is not installed
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    installed = set(site.getsitepackages()) | {site.getusersitepackages()}
    if root not in installed:
        env["PYTHONPATH"] = os.pathsep.join(
            [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


class Worker:
    """A framework's worker process and its JSON-lines channel."""

    def __init__(self, framework: str, device: str, threads: int, env: dict) -> None:
        self.framework = framework
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: it can never fill up
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"{__package__}._worker", framework, device, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            text=True, encoding="utf-8")

    def stderr_tail(self, lines: int = 5) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def send(self, **msg) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except OSError:  # a broken pipe: the worker is gone
            self._gone()

    def _gone(self):
        code = self.proc.wait()
        raise BenchmarkError(f"the {self.framework} worker exited with code {code}: "
                             f"{self.stderr_tail() or 'no message'}")

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self._gone()
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise BenchmarkError(f"the {self.framework} worker sent {line[:200]!r}") from None

    def result(self, what: str) -> dict:
        """The next reply, which must be a success; `what` names the task in errors."""
        reply = self.receive()
        if not reply.get("ok"):
            raise BenchmarkError(f"{what}: {self.framework} failed: {reply.get('error')}") \
                from WorkerTraceback(reply.get("traceback", ""))
        return reply

    def call(self, what: str, **msg) -> dict:
        self.send(**msg)
        return self.result(what)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            for f in (self.proc.stdin, self.proc.stdout, self._stderr):
                f.close()


def start_workers(frameworks: list[str], device: str, threads: int, env: dict
                  ) -> tuple[list[Worker], dict[str, dict], str]:
    """Start the workers together (their imports overlap) and wait until each is ready.

    Returns the ready workers, their hello messages and PyTorch's status: a worker whose
    framework cannot run here (PyTorch not installed, say) is dropped; only torch may be."""
    workers = [Worker(fw, device, threads, env) for fw in frameworks]
    ready, info, torch_status = [], {}, "disabled"
    try:
        for w in workers:
            hello = w.receive()
            if hello.get("ok"):
                ready.append(w)
                info[w.framework] = hello
                if w.framework == "torch":
                    torch_status = "used"
            elif "unavailable" in hello and w.framework == "torch":
                torch_status = f"unavailable: {hello['unavailable']}"
                w.close()
            else:
                raise BenchmarkError(f"the {w.framework} worker could not start: "
                                     f"{hello.get('error') or hello.get('unavailable')}") \
                    from WorkerTraceback(hello.get("traceback", ""))
    except BaseException:
        for w in workers:
            w.close()
        raise
    return ready, info, torch_status


def worker_params(row: RowSpec, framework: str) -> dict:
    """What a framework's worker builds its side of `row` from (the same for all)."""
    return row.params


def check_agreement(row: RowSpec, checks: dict[str, dict[str, float]]) -> dict[str, float]:
    """Raise BenchmarkError unless every framework's first-step numbers equal the floor's (or
    torchlite's, for rows without a floor) to float32 rounding; returns the reference's."""
    ref = "floor" if "floor" in checks else "torchlite"
    expected = checks.get(ref, {})
    for fw, got in checks.items():
        if fw == ref:
            continue
        if set(got) != set(expected):
            raise BenchmarkError(f"{row.suite}/{row.name}: {fw} reported {sorted(got)}, {ref} "
                                 f"{sorted(expected)}")
        for key, value in got.items():
            if not math.isclose(value, expected[key], rel_tol=RTOL, abs_tol=ATOL):
                raise BenchmarkError(
                    f"{row.suite}/{row.name}: {fw} and {ref} compute different things "
                    f"({key}: {value:.9g} vs {expected[key]:.9g}); times of different math "
                    "would mean nothing")
    return expected


def measure_pass(workers: list[Worker], row: RowSpec, repeat: int, warmup: int, block: int,
                 settle: float = 0.0) -> tuple[dict, dict, dict]:
    """Set the row up in every worker, check agreement, warm up, then time `repeat` steps per
    framework in turns: (the agreed reference, times per framework, phases per framework).

    `settle`: seconds to wait before each block. Idle BLAS and OpenMP threads spin for a while
    (up to ~0.1 s) after their last work before they sleep; without the wait, the spinning
    threads of the worker that just finished take CPU from the next one's first steps."""
    what = f"{row.suite}/{row.name}"
    for w in workers:  # set-up is not timed: the workers build at the same time
        w.send(cmd="setup", suite=row.suite, params=worker_params(row, w.framework))
    checks, active = {}, []
    for w in workers:
        reply = w.result(what)
        if not reply.get("skip"):
            checks[w.framework] = reply["check"]
            active.append(w)
    reference = check_agreement(row, checks)
    for w in active:
        if warmup:
            w.call(what, cmd="warmup", n=warmup)
    times: dict[str, list[float]] = {w.framework: [] for w in active}
    phases: dict[str, list[dict]] = {w.framework: [] for w in active}
    turn = 0
    while any(len(times[w.framework]) < repeat for w in active):
        k = turn % len(active)
        for w in active[k:] + active[:k]:  # who goes first rotates
            n = min(block, repeat - len(times[w.framework]))
            if n > 0:
                if settle and len(active) > 1:
                    time.sleep(settle)
                reply = w.call(what, cmd="time", n=n)
                times[w.framework] += reply["times"]
                if "phases" in reply:
                    phases[w.framework].append(reply["phases"])
        turn += 1
    return reference, times, phases


def row_result(row: RowSpec, passes: list[tuple[dict, dict, dict]]) -> RowResult:
    """The row's result from the times of one or more passes (see run_suites)."""
    reference = passes[0][0]
    times: dict[str, list[float]] = {}
    phases: dict[str, list[dict]] = {}
    for _, t, p in passes:
        for fw, v in t.items():
            times.setdefault(fw, []).extend(v)
        for fw, v in p.items():
            phases.setdefault(fw, []).extend(v)
    timings = {fw: Timing.of(times[fw], row.samples) for fw in (*FRAMEWORKS, PROFILED)
               if fw in times}
    split = {fw: phase_medians(p) for fw, p in phases.items() if p}
    return RowResult(row.suite, row.name, row.description, timings, reference, split)


def phase_medians(steps: list[dict[str, float]]) -> dict[str, float]:
    """Median milliseconds per phase over the timed steps that reported phases."""
    return {k: float(np.median([s[k] for s in steps])) * 1e3 for k in steps[0]}


def run_suites(suites: list[str], device: str, repeat: int | None, warmup: int | None,
               threads: int | None, use_torch: bool, quick: bool,
               progress: Callable[[int, int, RowResult], None] | None,
               profile: bool = False) -> BenchReport:
    if device == "cuda":
        from .. import backend

        backend.to_device("cuda")  # the clear "CUDA is not available" error, before any work
    requested = threads
    # more threads than CPUs: BLAS (OpenBLAS caps itself at the CPU count) and the frameworks'
    # own pools would not agree on what was used; all of them get the CPU count instead
    threads = cpu_count() if threads is None else min(threads, cpu_count())
    rows = [row for s in suites for row in suite_module(s).rows(quick)]
    frameworks = [fw for fw in FRAMEWORKS if use_torch or fw != "torch"]
    if profile:
        frameworks.append(PROFILED)
    workers, info, torch_status = start_workers(frameworks, device, threads,
                                                worker_environ(threads))
    results: list[RowResult] = []
    try:
        for suite in suites:
            mod = suite_module(suite)
            # one thread per framework means no idle pool threads to wait for
            settle = mod.SETTLE if threads != 1 else 0.0
            steps = mod.REPEAT if repeat is None else repeat
            # A suite whose targets compare its rows with each other (mixed precision against
            # float32, int8 against float32) measures them in PASSES rounds, every row once a
            # round: this machine's speed drifts over minutes, and rows timed one after the
            # other would compare different moments.
            passes = max(1, min(getattr(mod, "PASSES", 1), steps))
            per_pass = -(-steps // passes)
            suite_rows = mod.rows(quick)
            done: dict[str, list] = {row.name: [] for row in suite_rows}
            for _ in range(passes):
                for row in suite_rows:
                    done[row.name].append(measure_pass(
                        workers, row, per_pass, mod.WARMUP if warmup is None else warmup,
                        mod.BLOCK, settle))
            for row in suite_rows:
                results.append(row_result(row, done[row.name]))
                if progress is not None:
                    progress(len(results), len(rows), results[-1])
    finally:
        for w in workers:
            w.close()
    return BenchReport(machine(device, threads, info, torch_status, requested, profile), results)

