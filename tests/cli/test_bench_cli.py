"""`torchlite bench`: the JSON and the table, and one-line errors with DESIGN.md's exit codes.
The hidden --quick option keeps the problems tiny; no time is asserted."""

from __future__ import annotations

import json

import pytest
from torchlite_cli.main import _BENCH_SUITES, app
from typer.testing import CliRunner

import torchlite
from torchlite import benchmark

runner = CliRunner()
QUICK = ["--quick", "--repeat", "2", "--threads", "1", "--no-torch"]


def test_bench_json():
    r = runner.invoke(app, ["bench", "--suite", "mlp", "--suite", "optim", "--json", *QUICK])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)  # progress lines go to stderr, the JSON alone to stdout
    m = rep["machine"]
    assert {"cpu", "cpu_count", "threads", "numpy", "python", "device", "torch"} <= set(m)
    assert (m["threads"], m["device"], m["torch"]) == (1, "cpu", None)
    assert [r["suite"] for r in rep["rows"]] == ["mlp"] * 6 + ["optim"]
    for row in rep["rows"]:
        assert {"suite", "name", "description", "times", "ratios"} <= set(row)
        for t in row["times"].values():
            assert {"median_ms", "p25_ms", "p75_ms", "n"} <= set(t) and t["n"] == 2
        assert set(row["ratios"]) == {"torchlite/floor"}
    assert "[7/7] optim/" in r.stderr


def test_bench_table():
    r = runner.invoke(app, ["bench", "--suite", "data", *QUICK])
    assert r.exit_code == 0, r.output
    out = r.stdout
    for text in ("suite/row", "tl/floor", "tl/torch", "spread", "data/epoch b128",
                 "below 1: torchlite is faster", "samples/s", "PyTorch: left out"):
        assert text in out, text


def test_bench_profile_shows_the_profilers_cost():
    r = runner.invoke(app, ["bench", "--suite", "optim", "--profile", *QUICK])
    assert r.exit_code == 0, r.output
    for text in ("profiled ms", "prof/tl", "optim/adam", "profiler recording every step"):
        assert text in r.stdout, text
    assert "prof/tl" not in runner.invoke(app, ["bench", "--suite", "optim", *QUICK]).stdout


@pytest.mark.skipif(torchlite.cuda.is_available(), reason="a GPU is present")
def test_bench_cuda_without_a_gpu_is_one_line_and_exit_2():
    r = runner.invoke(app, ["bench", "--device", "cuda", "--suite", "mlp", *QUICK])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: CUDA is not available")
    assert "Traceback" not in r.output and r.stdout == ""


def test_the_command_knows_every_suite():
    assert _BENCH_SUITES == benchmark.SUITES


@pytest.mark.parametrize("args, message", [
    (["--suite", "lenet"], "did you mean lenet5"),
    (["--suite", "resnet"], "choose from mlp, lenet5"),
    (["--device", "tpu"], "--device must be cpu or cuda"),
    (["--repeat", "0"], ""),
    (["--threads", "-1"], ""),
])
def test_bench_bad_usage_exits_2(args, message):
    r = runner.invoke(app, ["bench", *args])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
