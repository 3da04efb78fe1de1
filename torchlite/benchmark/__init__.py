"""Speed, measured as ratios (DESIGN.md section 7): what `torchlite bench` runs.

Every row is one step of work done three ways: by torchlite, by the same math in hand-written
NumPy (CuPy on a GPU) - the floor for torchlite's design - and by PyTorch when it is installed.
Each framework runs in a worker process of its own (thread pools and allocators would leak
between frameworks sharing one), all with the same number of threads; the workers take turns,
one at a time, and every row reports each framework's median time per step and torchlite's
ratios to the others. Before anything is timed, the workers' first-step numbers (losses,
parameter movement, checksums) must agree to float32 rounding: times of different math would
mean nothing.

    report = torchlite.benchmark.run(["mlp"], repeat=20)
    report.rows[0].ratios      # {"torchlite/floor": 1.3, "torchlite/torch": 1.1}
    report.to_dict()           # JSON-able: machine description and rows

Suites: mlp (784-512-256-10 MLP training steps, batch 32/128/512, SGD-momentum and Adam),
lenet5 (LeNet-5 training step), lstm (2-layer LSTM training step), optim (one Adam step over 10M
parameters), data (a DataLoader epoch over 60,000 samples), startup (`import torchlite` and
`torchlite --help` in fresh processes). Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ._common import FRAMEWORKS, SUITES, BenchmarkError
from ._report import BenchReport, RowResult, Timing

__all__ = ["FRAMEWORKS", "SUITES", "BenchReport", "BenchmarkError", "RowResult", "Timing", "run"]


def run(suites: str | Iterable[str] | None = None, *, device: str = "cpu",
        repeat: int | None = None, warmup: int | None = None, threads: int | None = None,
        use_torch: bool = True, quick: bool = False,
        progress: Callable[[int, int, RowResult], None] | None = None,
        profile: bool = False) -> BenchReport:
    """Run benchmark suites and return their results.

    Args:
        suites: names from SUITES (one name or several); None runs them all, in SUITES order.
        device: "cpu" or "cuda" (torchlite and PyTorch on the GPU, the floor in CuPy).
        repeat: timed steps per framework and row (default: each suite's own, 5 to 40).
        warmup: untimed steps per framework before timing (default: each suite's own).
        threads: threads for every framework (OMP/OPENBLAS/MKL_NUM_THREADS in each worker,
            torchlite.set_num_threads, torch.set_num_threads); None: all CPUs of this process;
            0: the libraries' defaults. More than the CPUs of this process are cut to their
            count: machine["threads"] is the number used, machine["threads_requested"] the
            number asked for.
        use_torch: include PyTorch when it can be imported (its absence is not an error: the
            report says why in machine["torch_status"]).
        quick: tiny problem sizes (narrow layers, small batches, few samples) that check the
            harness in seconds; the times then mean little.
        progress: called as progress(done, total, row_result) after each row.
        profile: also run torchlite with torchlite.profiler recording every step (framework
            "profiled", ratio "profiled/torchlite": what profiling costs; the torchlite column
            is the profiler-off figure). The startup rows have no profiled side.
    Raises:
        ValueError: an unknown suite or device, or a negative count.
        RuntimeError: device "cuda" without a usable GPU ("CUDA is not available: ...").
        BenchmarkError: the frameworks disagree numerically on a row, or a worker failed.
    """
    from ._runner import run_suites

    names = list(SUITES) if suites is None else [suites] if isinstance(suites, str) \
        else list(suites)
    unknown = [n for n in names if n not in SUITES]
    if unknown or not names:
        raise ValueError(f"unknown benchmark suite {unknown[0] if unknown else ''!r}; choose "
                         f"from {', '.join(SUITES)}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    for name, value, low in (("repeat", repeat, 1), ("warmup", warmup, 0), ("threads", threads, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    names = list(dict.fromkeys(names))  # a suite named twice runs once
    return run_suites(names, device, repeat, warmup, threads, use_torch, quick, progress,
                      profile)
