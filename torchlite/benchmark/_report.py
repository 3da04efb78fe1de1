"""What a benchmark run returns: per-row timings of each framework, ratios, and the machine."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Timing:
    """One framework's times on one row, in milliseconds per step."""

    median_ms: float
    p25_ms: float
    p75_ms: float
    n: int
    samples_per_s: float | None = None  # for rows that process a known number of samples

    @classmethod
    def of(cls, seconds: list[float], samples: int | None = None) -> Timing:
        ms = np.asarray(seconds, dtype=np.float64) * 1e3
        p25, med, p75 = (float(v) for v in np.percentile(ms, [25, 50, 75]))
        return cls(med, p25, p75, len(ms), samples / med * 1e3 if samples and med > 0 else None)

    @property
    def spread_pct(self) -> float:
        """Half the interquartile range as a percentage of the median ("±x%")."""
        return 50.0 * (self.p75_ms - self.p25_ms) / self.median_ms if self.median_ms else 0.0

    def to_dict(self) -> dict:
        d = {"median_ms": self.median_ms, "p25_ms": self.p25_ms, "p75_ms": self.p75_ms,
             "n": self.n}
        if self.samples_per_s is not None:
            d["samples_per_s"] = self.samples_per_s
        return d


@dataclass
class RowResult:
    """One row: the times of each framework that ran it (frameworks: torchlite, floor, torch,
    and `profiled`, torchlite with the profiler recording, under `--profile`)."""

    suite: str
    name: str
    description: str
    times: dict[str, Timing]
    check: dict[str, float] = field(default_factory=dict)  # the agreed first-step numbers
    # rows whose step is split into phases (suite `train`): framework -> phase -> median ms
    phases: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def ratios(self) -> dict[str, float]:
        """torchlite's median time over the floor's and PyTorch's (below 1: torchlite faster);
        with the profiled run, `profiled/torchlite`: the profiler's cost as a factor."""
        tl = self.times.get("torchlite")
        if tl is None:
            return {}
        out = {f"torchlite/{k}": tl.median_ms / t.median_ms for k, t in self.times.items()
               if k not in ("torchlite", "profiled") and t.median_ms > 0}
        prof = self.times.get("profiled")
        if prof is not None and tl.median_ms > 0:
            out["profiled/torchlite"] = prof.median_ms / tl.median_ms
        return out

    def to_dict(self) -> dict:
        return {"suite": self.suite, "name": self.name, "description": self.description,
                "times": {k: t.to_dict() for k, t in self.times.items()},
                "ratios": self.ratios, "check": self.check,
                **({"phases": self.phases} if self.phases else {})}


@dataclass
class BenchReport:
    """The result of `torchlite.benchmark.run`: `machine` describes where and how it ran
    (`torch` is None when PyTorch took no part, `torch_status` says why), `rows` the results."""

    machine: dict
    rows: list[RowResult]

    def to_dict(self) -> dict:
        return {"machine": self.machine, "rows": [r.to_dict() for r in self.rows]}


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def cpu_count() -> int:
    """The CPUs this process may run on (a container's limit, not the host's count)."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def machine(device: str, threads: int, worker_info: dict, torch_status: str,
            threads_requested: int | None = None, profile: bool = False) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        tl_version = version("torchlite")
    except PackageNotFoundError:
        tl_version = None
    torch_info = worker_info.get("torch", {})
    return {
        "cpu": cpu_model(),
        "cpu_count": cpu_count(),
        "threads": threads,  # used; 0: each library's default
        "threads_requested": threads_requested,  # None: not given (all CPUs)
        "torchlite_threads": worker_info.get("torchlite", {}).get("torchlite_threads"),
        "torch_threads": torch_info.get("torch_threads"),
        "device": device,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "torchlite": tl_version,
        "torch": torch_info.get("versions", {}).get("torch"),
        "torch_status": torch_status,
        "profile": profile,  # a `profiled` column: torchlite with the profiler recording
    }
