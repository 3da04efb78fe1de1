"""torchlite.benchmark and `torchlite bench`: every case runs, its implementations agree, and the
results carry positive times, ratios and the run's settings. Speed itself is never asserted here
(DESIGN.md section 7: it is read from `torchlite bench`)."""

from __future__ import annotations

import json
import math
import os
import sys

import pytest
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite import benchmark
from torchlite.benchmark import lenet

TINY = dict(repeats=2, warmup=1)
ROWS = {  # case -> {row name: frameworks other than PyTorch}
    "mlp": {"mlp": {"torchlite", "numpy"}},
    "lenet": {"lenet": {"torchlite", "numpy"}},
    "lstm": {"lstm": {"torchlite", "numpy"}},
    "optim": {f"optim {name}": {"torchlite"} for name, _ in benchmark.optimizers.CONFIGS},
    "data": {"data load": {"torchlite"}, "data epoch": {"torchlite", "numpy"},
             "data epoch/sample": {"torchlite"}, "data load+epoch": {"torchlite"}},
}
BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS")


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError


def check_result(r: dict, case: str, frameworks: set, repeats: int = 2, warmup: int = 1):
    assert set(r) == {"name", "case", "description", "ms", "repeats", "warmup", "threads",
                      "ratios"}
    assert r["case"] == case and r["description"]
    assert (r["repeats"], r["warmup"], r["threads"]) == (repeats, warmup, 1)
    assert set(r["ms"]) == frameworks
    assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in r["ms"].values())
    assert set(r["ratios"]) == {f"torchlite/{k}" for k in frameworks - {"torchlite"}}
    for key, ratio in r["ratios"].items():
        assert ratio == pytest.approx(r["ms"]["torchlite"] / r["ms"][key.split("/")[1]])


@pytest.mark.parametrize("case", list(ROWS))
def test_each_case_runs_without_torch(case, no_torch):
    rep = benchmark.run(case, **TINY)
    assert (rep.torch_version, rep.torch_threads, rep.threads) == (None, None, 1)
    d = json.loads(json.dumps(rep.to_dict()))  # JSON-able as it is
    assert [r["name"] for r in d["results"]] == list(ROWS[case])
    for r in d["results"]:
        check_result(r, case, ROWS[case][r["name"]])


@pytest.mark.parity
@pytest.mark.parametrize("case", ["mlp", "lenet", "lstm", "optim"])
def test_cases_compare_with_torch(case):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    rep = benchmark.run(case, **TINY)
    assert torch.get_num_threads() == before  # the thread limit is lifted afterwards
    assert rep.torch_version == torch.__version__ and rep.torch_threads == 1
    for r in rep.to_dict()["results"]:
        check_result(r, case, ROWS[case][r["name"]] | {"torch"})


def test_all_runs_every_case_in_order(no_torch, monkeypatch):
    for name in ("lenet", "lstm", "optim", "data"):  # the heavy cases: one is enough above
        monkeypatch.setattr(benchmark.CASES[name], "rows", benchmark.CASES["mlp"].rows)
    rep = benchmark.run("all", **TINY)
    assert [r.case for r in rep.results] == list(ROWS)


def test_a_disagreeing_implementation_is_refused(no_torch, monkeypatch):
    real = lenet.numpy_forward_backward

    def off_by_one_percent(params, x, y, ws=None):
        loss, grads = real(params, x, y, ws)
        return loss, [grads[0] * 1.01] + grads[1:]

    monkeypatch.setattr(lenet, "numpy_forward_backward", off_by_one_percent)
    with pytest.raises(benchmark.BenchmarkError, match="lenet: torchlite gradient of 0.weight"):
        benchmark.run("lenet", **TINY)


@pytest.mark.parametrize("kw", [dict(case="nope"), dict(repeats=0), dict(warmup=-1),
                                dict(threads=-1)])
def test_bad_arguments(kw, no_torch):
    with pytest.raises(ValueError):
        benchmark.run(**{"case": "mlp", **kw})


# -- the command ---------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_bench_json(monkeypatch):
    for var in BLAS_VARS:  # restored after the test; the command sets them
        monkeypatch.setenv(var, "7")
    r = runner.invoke(app, ["bench", "--case", "mlp", "--repeats", "2", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["threads"] == 1 and rep["numpy_version"]
    assert all(os.environ[v] == "1" for v in BLAS_VARS)
    (res,) = rep["results"]
    frameworks = {"torchlite", "numpy"} | ({"torch"} if rep["torch_version"] else set())
    check_result(res, "mlp", frameworks, warmup=benchmark.mlp.WARMUP)


def test_cli_bench_table_and_errors(monkeypatch, no_torch):
    for var in BLAS_VARS:
        monkeypatch.setenv(var, "7")
    r = runner.invoke(app, ["bench", "--case", "data", "--repeats", "1", "--threads", "0"])
    assert r.exit_code == 0, r.output
    assert "data epoch/sample" in r.stdout and "no PyTorch" in r.stdout
    assert all(os.environ[v] == "7" for v in BLAS_VARS)  # --threads 0: untouched
    r = runner.invoke(app, ["bench", "--case", "resnet"])
    assert r.exit_code == 2 and "--case must be one of" in r.output
    r = runner.invoke(app, ["bench", "--repeats", "0"])
    assert r.exit_code == 2
