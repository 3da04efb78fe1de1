"""Speed, measured as ratios in one process (DESIGN.md section 7).

Each case runs the same math as torchlite, as hand-written NumPy (the floor for this design)
where one exists, and as PyTorch when it is installed; the implementations take turns and every
row reports the median time per step of each. Nothing here prints: `run` returns a
`BenchReport` (`.to_dict()` for JSON); `torchlite bench` and the scripts in benchmarks/ render it.

    report = torchlite.benchmark.run("mlp", repeats=50)
    report.results[0].ratios   # {"torchlite/numpy": 1.1, "torchlite/torch": 0.9}

Cases: mlp (graph cost of an MLP step), lenet (LeNet-5 training step), lstm (2-layer LSTM
training step), optim (one step of each optimizer), data (digits loading and DataLoader epochs).
PyTorch is imported only inside `run`, and only when `use_torch` is true.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from . import data, lenet, lstm, mlp, optimizers
from ._common import (
    FRAMEWORKS,
    BenchmarkError,
    Row,
    blas_threads,
    import_torch,
    limit_threads,
    median_ms,
)

__all__ = ["CASES", "BenchReport", "BenchResult", "BenchmarkError", "Row", "measure", "run"]

# case name -> module with rows(torch), REPEATS and WARMUP
CASES = {"mlp": mlp, "lenet": lenet, "lstm": lstm, "optim": optimizers, "data": data}


@dataclass
class BenchResult:
    """One row: median milliseconds per step of each framework that ran it."""

    name: str
    case: str
    description: str
    ms: dict[str, float]  # framework ("torchlite", "numpy", "torch") -> median ms per step
    repeats: int
    warmup: int
    threads: int | None  # the requested limit; None = the libraries' defaults

    @property
    def ratios(self) -> dict[str, float]:
        """torchlite's time over each other framework's ("torchlite/numpy", "torchlite/torch")."""
        tl = self.ms.get("torchlite")
        if tl is None:
            return {}
        return {f"torchlite/{k}": tl / v for k, v in self.ms.items() if k != "torchlite" and v > 0}

    def to_dict(self) -> dict:
        return {**asdict(self), "ratios": self.ratios}


@dataclass
class BenchReport:
    results: list[BenchResult]
    threads: int | None  # requested; None = the libraries' defaults
    blas_threads: int | None  # NumPy's BLAS threads during the run, when threadpoolctl can tell
    torch_threads: int | None  # torch.get_num_threads() during the run; None without PyTorch
    numpy_version: str
    torch_version: str | None  # None: PyTorch not installed (or not asked for)
    cpu_count: int | None = field(default_factory=os.cpu_count)

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["results"]
        d["results"] = [r.to_dict() for r in self.results]  # last: the header reads first
        return d


def measure(case: str, rows: Iterable[Row], repeats: int, warmup: int,
            threads: int | None = None) -> list[BenchResult]:
    """Time each row (built lazily, one at a time) and return one result per row."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    out = []
    for row in rows:
        ms = median_ms(row.fns, repeats, warmup)
        ms = {k: ms[k] for k in FRAMEWORKS if k in ms}  # a fixed order for tables and JSON
        out.append(BenchResult(row.name, case, row.description, ms, repeats, warmup, threads))
    return out


def _case_names(case: str | Iterable[str]) -> list[str]:
    names = list(CASES) if case == "all" else [case] if isinstance(case, str) else list(case)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise ValueError(f"unknown benchmark case {unknown[0]!r}; choose from "
                         f"{', '.join(CASES)} or all")
    return names


def run(case: str | Iterable[str] = "all", *, repeats: int | None = None,
        warmup: int | None = None, threads: int | None = 1, use_torch: bool = True,
        options: dict | None = None) -> BenchReport:
    """Run benchmark cases and return their results.

    Args:
        case: a name from CASES, a list of names, or "all".
        repeats, warmup: timed and untimed steps per framework (default: each case's own).
        threads: BLAS/OpenMP threads for NumPy (through threadpoolctl when installed) and
            PyTorch (torch.set_num_threads) during the run; 0 or None keeps the libraries'
            defaults. One thread measures framework cost rather than BLAS scaling; for NumPy to
            obey without threadpoolctl, set OMP_NUM_THREADS etc. before importing NumPy.
        use_torch: compare with PyTorch when it is importable.
        options: keyword arguments for the cases' `rows` (e.g. {"batch_size": 32} for data).
    Raises:
        BenchmarkError: the implementations of a case disagree numerically.
    """
    names = _case_names(case)
    if threads is not None and threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    threads = threads or None
    torch = import_torch() if use_torch else None
    results: list[BenchResult] = []
    with limit_threads(threads, torch):
        for name in names:
            mod = CASES[name]
            results += measure(name, mod.rows(torch, **(options or {})),
                               mod.REPEATS if repeats is None else repeats,
                               mod.WARMUP if warmup is None else warmup, threads)
        return BenchReport(
            results, threads, blas_threads(),
            torch.get_num_threads() if torch is not None else None, np.__version__,
            torch.__version__ if torch is not None else None)
