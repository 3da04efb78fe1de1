"""`torchlite runs` and `torchlite compare`: runs as a collection, as tables and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _tiny_runs import TINY_DIGITS
from torchlite_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("runs_cli")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(TINY_DIGITS.format(name="tiny", root=tmp / "runs"))
    for name, lr in (("a", "1e-2"), ("b", "3e-3")):
        r = cli("train", cfg, f"optimizer.lr={lr}", "--name", name, "--plain", "--no-plots")
        assert r.exit_code == 0, r.output
    return tmp / "runs"


def test_runs_lists_every_run_with_its_status_best_and_test_metrics(runs):
    r = cli("runs", runs, "--json")
    assert r.exit_code == 0, r.output
    listed = json.loads(r.stdout)
    assert [x["name"] for x in listed] == ["a", "b"]
    for x in listed:
        assert x["status"] == "completed" and x["epochs"] == 1 and x["best_epoch"] == 1
        assert x["monitor"] == "val/loss" and x["best_value"] > 0
        assert set(x["test_metrics"]) == {"test/loss"} and x["duration_s"] > 0
        assert x["created"]
    table = cli("runs", runs)
    assert table.exit_code == 0
    assert "completed" in table.stdout and "val/loss" in table.stdout


def test_runs_says_when_a_folder_holds_none(tmp_path):
    r = cli("runs", tmp_path)
    assert r.exit_code == 0 and f"no runs under {tmp_path}" in r.output
    r = cli("runs", tmp_path / "missing")
    assert r.exit_code == 3 and "no such runs folder" in r.output


def test_runs_marks_a_run_whose_process_died_as_stopped(runs, tmp_path):
    import shutil

    dead = tmp_path / "runs" / "dead"
    shutil.copytree(runs / "a", dead)
    summary = json.loads((dead / "summary.json").read_text())
    (dead / "summary.json").write_text(json.dumps({**summary, "status": "running"}))
    (dead / ".lock").write_text(json.dumps({"pid": 2 ** 22 + 7, "host": "nowhere"}))
    assert json.loads(cli("runs", tmp_path / "runs", "--json").stdout)[0]["status"] == "running"
    import socket

    (dead / ".lock").write_text(json.dumps({"pid": 2 ** 22 + 7, "host": socket.gethostname()}))
    assert json.loads(cli("runs", tmp_path / "runs", "--json").stdout)[0]["status"] == "stopped"


def test_compare_shows_the_config_differences_and_metrics_side_by_side(runs):
    r = cli("compare", runs / "a", runs / "b", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["runs"] == ["a", "b"]
    assert out["config_differences"] == [{"key": "optimizer.lr", "values": [0.01, 0.003]}]
    metrics = {m["metric"]: m["values"] for m in out["metrics"]}
    assert metrics["status"] == ["completed", "completed"]
    assert "best val/loss" in metrics and "test/loss" in metrics and "last train/loss" in metrics
    # names are looked up under --root; the table puts one column per run
    t = cli("compare", "a", "b", "--root", runs)
    assert t.exit_code == 0 and "optimizer.lr" in t.stdout and "test/loss" in t.stdout


def test_compare_refuses_a_folder_that_is_not_a_run(runs, tmp_path):
    r = cli("compare", runs / "a", tmp_path)
    assert r.exit_code == 3 and "not a run folder" in r.output


def test_compare_plot_overlays_the_runs(runs):
    pytest.importorskip("matplotlib", reason="needs the plot extra")
    r = cli("compare", runs / "a", runs / "b", "--plot", "--json")
    assert r.exit_code == 0, r.output
    assert Path(json.loads(r.stdout)["plot"]).is_file()
