"""torchlite.benchmark: every suite runs through its worker processes, the frameworks agree before
anything is timed, and the report carries what `torchlite bench` prints. Speed itself is never
asserted (DESIGN.md section 7). Problem sizes are the tiny `quick` ones and one thread per worker
(no settling pauses), so that the file stays fast."""

from __future__ import annotations

import importlib.util
import json
import math
import os

import pytest

import torchlite
from torchlite import benchmark
from torchlite.benchmark import _runner
from torchlite.benchmark._common import RowSpec
from torchlite.benchmark.precision import available_modes
from torchlite.distributed.mpi import mpi_installed

TINY = dict(repeat=2, warmup=1, threads=1, quick=True)
ROWS = {  # suite -> number of rows, in SUITES order
    "mlp": 6, "lenet5": 1, "lstm": 1, "optim": 1, "data": 1,
    "train": 3,  # torchlite/benchmark/train.py: whole jobs, split into phases
    "startup": 2,
    # torchlite/benchmark/precision.py: one row per trainer.precision mode but 64 (the bf16 modes
    # need the bf16 extra)
    "precision": len(available_modes()),
    "quant": 2,
    "sparse": 4 if importlib.util.find_spec("scipy") else 3,  # its product needs scipy
    "distributed": 3 if mpi_installed() else 0,  # its rows need the mpi extra
}
TIMING_KEYS = {"median_ms", "p25_ms", "p75_ms", "n"}


def torch_importable() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def check_row(r: dict, frameworks: set, n: int = 2) -> None:
    keys = {"suite", "name", "description", "times", "ratios", "check"}
    assert set(r) == (keys | {"phases"} if r["suite"] == "train" else keys)
    assert r["name"] and r["description"]
    assert set(r["times"]) == frameworks
    for t in r["times"].values():
        assert TIMING_KEYS <= set(t) and t["n"] == n
        assert all(math.isfinite(t[k]) and t[k] > 0 for k in ("median_ms", "p25_ms", "p75_ms"))
        assert t["p25_ms"] <= t["median_ms"] <= t["p75_ms"]
    assert set(r["ratios"]) == {f"torchlite/{k}" for k in frameworks - {"torchlite"}}
    for key, ratio in r["ratios"].items():
        other = r["times"][key.split("/")[1]]["median_ms"]
        assert ratio == pytest.approx(r["times"]["torchlite"]["median_ms"] / other)


def test_every_suite_runs_without_torch():
    seen = []
    rep = benchmark.run(use_torch=False, progress=lambda i, n, r: seen.append((i, n)), **TINY)
    d = json.loads(json.dumps(rep.to_dict()))  # JSON-able as it is
    m = d["machine"]
    assert (m["threads"], m["device"], m["torch"], m["torch_status"]) == (1, "cpu", None,
                                                                             "disabled")
    assert m["cpu_count"] >= 1 and m["numpy"] and m["python"] and m["torchlite_threads"] == 1
    assert [r["suite"] for r in d["rows"]] == [s for s, k in ROWS.items() for _ in range(k)]
    assert seen == [(i + 1, len(d["rows"])) for i in range(len(d["rows"]))]
    for r in d["rows"]:
        check_row(r, {"torchlite", "floor"})
        if r["suite"] != "startup":  # the numbers that had to agree
            assert r["check"] and all(math.isfinite(v) for v in r["check"].values())
    check_phases([r for r in d["rows"] if r["suite"] == "train"], {"torchlite", "floor"})
    (data,) = [r for r in d["rows"] if r["suite"] == "data"]
    assert data["check"]["samples"] == 1000
    assert all(t["samples_per_s"] > 0 for t in data["times"].values())


def check_phases(rows: list[dict], frameworks: set) -> None:
    """The train suite's rows: every framework's job split into the same phases, summing to
    about the job's time (medians of each phase need not add up exactly), and the same work."""
    from torchlite.benchmark.train import PHASES

    assert [r["name"] for r in rows] == ["mnist_mlp", "digits_mlp", "mnist_lenet"]
    for r in rows:
        assert set(r["phases"]) == frameworks
        for phases in r["phases"].values():
            assert list(phases) == list(PHASES)
            assert all(math.isfinite(v) and v >= 0 for v in phases.values())
            assert phases["forward"] + phases["backward"] > 0
        assert r["check"]["epochs"] == 1 and r["check"]["samples trained"] > 0


@pytest.mark.parity
@pytest.mark.skipif(not torch_importable(), reason="PyTorch is not installed")
def test_train_suite_compares_with_a_plain_torch_loop():
    rep = benchmark.run("train", repeat=1, warmup=0, threads=1, quick=True)
    rows = rep.to_dict()["rows"]
    for r in rows:
        check_row(r, {"torchlite", "floor", "torch"}, n=1)
    check_phases(rows, {"torchlite", "floor", "torch"})


@pytest.mark.parity
@pytest.mark.skipif(not torch_importable(), reason="PyTorch is not installed")
def test_suites_compare_with_torch():
    # startup is left out here: it imports torch in fresh processes, seconds per step
    rep = benchmark.run(["mlp", "lenet5", "lstm", "optim", "data"], **TINY)
    import torch

    m = rep.machine
    assert (m["torch"], m["torch_status"], m["torch_threads"]) == (torch.__version__, "used", 1)
    for r in rep.to_dict()["rows"]:
        check_row(r, {"torchlite", "floor", "torch"})


def test_profile_adds_torchlite_with_the_profiler_recording():
    rep = benchmark.run(["mlp", "startup"], use_torch=False, profile=True, **TINY)
    assert rep.machine["profile"] is True
    for r in rep.to_dict()["rows"]:
        if r["suite"] == "startup":  # nothing of torchlite's ops runs there
            check_row(r, {"torchlite", "floor"})
            continue
        assert set(r["times"]) == {"torchlite", "floor", "profiled"}
        assert set(r["ratios"]) == {"torchlite/floor", "profiled/torchlite"}
        assert r["ratios"]["profiled/torchlite"] == pytest.approx(
            r["times"]["profiled"]["median_ms"] / r["times"]["torchlite"]["median_ms"])
    assert benchmark.run("optim", use_torch=False, **TINY).machine["profile"] is False


def test_torch_missing_in_the_workers_is_a_dash_not_an_error(tmp_path, monkeypatch):
    (tmp_path / "torch.py").write_text("raise ImportError('no torch here')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # shadows a real torch in the workers only
    rep = benchmark.run("optim", **TINY)
    assert rep.machine["torch"] is None
    assert rep.machine["torch_status"].startswith("unavailable: PyTorch cannot be imported")
    assert set(rep.rows[0].times) == {"torchlite", "floor"}


def test_a_framework_doing_different_math_is_refused(monkeypatch):
    real = _runner.worker_params

    def floor_with_another_lr(row: RowSpec, framework: str) -> dict:
        params = real(row, framework)
        if framework == "floor":
            params = {**params, "opt": {**params["opt"], "lr": params["opt"]["lr"] * 1.01}}
        return params

    monkeypatch.setattr(_runner, "worker_params", floor_with_another_lr)
    # the first losses agree (the update comes after them); the movement of the weights cannot
    with pytest.raises(benchmark.BenchmarkError,
                       match=r"mlp/b32 sgd: torchlite and floor compute different things "
                             r"\((loss 2|sum \|param change\|)"):
        benchmark.run("mlp", use_torch=False, **TINY)


def test_a_failing_worker_is_reported_with_its_traceback(monkeypatch):
    monkeypatch.setattr(_runner, "worker_params", lambda row, fw: {**row.params, "batch": "x"})
    with pytest.raises(benchmark.BenchmarkError, match="lenet5/.*failed: TypeError") as err:
        benchmark.run("lenet5", use_torch=False, **TINY)
    assert isinstance(err.value.__cause__, _runner.WorkerTraceback)
    assert "Traceback" in str(err.value.__cause__)


@pytest.mark.parametrize("checks, message", [
    ({"floor": {"loss": 1.0}, "torchlite": {"loss": 1.0 + 1e-7}}, None),
    ({"floor": {"loss": 1.0}, "torchlite": {"loss": 1.001}}, "compute different things"),
    ({"floor": {"loss": 1.0}, "torchlite": {"loss": float("nan")}}, "compute different things"),
    ({"floor": {"loss": 1.0}, "torchlite": {"other": 1.0}}, "reported"),
    ({"torchlite": {"x": 2.0}, "torch": {"x": 2.5}}, "torch and torchlite"),  # no floor
])
def test_agreement_check(checks, message):
    row = RowSpec("s", "r", "d")
    if message is None:
        assert _runner.check_agreement(row, checks) == checks["floor"]
    else:
        with pytest.raises(benchmark.BenchmarkError, match=message):
            _runner.check_agreement(row, checks)


def test_worker_environment_sets_threads_or_inherits(monkeypatch):
    for var in _runner.THREAD_VARS:
        monkeypatch.setenv(var, "7")
    env = _runner.worker_environ(3)
    assert all(env[v] == "3" for v in _runner.THREAD_VARS)
    assert all(os.environ[v] == "7" for v in _runner.THREAD_VARS)  # the parent is untouched
    env = _runner.worker_environ(0)
    assert all(env[v] == "7" for v in _runner.THREAD_VARS)
    assert env.get("OPENBLAS_CORETYPE") == os.environ.get("OPENBLAS_CORETYPE")


@pytest.mark.parametrize("kw", [dict(suites="resnet"), dict(suites=[]), dict(device="tpu"),
                                dict(repeat=0), dict(warmup=-1), dict(threads=-1),
                                dict(repeat=1.5)])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        benchmark.run(**{"suites": "mlp", **kw})


@pytest.mark.skipif(torchlite.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        benchmark.run("mlp", device="cuda")
