"""The plots through the CLI: train and eval draw them (or say in one line why not), --no-plots,
and `torchlite plot` redrawing a run or overlaying several."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _tiny_runs import digits_config
from torchlite_cli.main import app
from typer.testing import CliRunner

HINT = "plots skipped: pip install 'torchlite[plot]'"


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib", reason="needs matplotlib: pip install "
                               "'torchlite[plot]'")


@pytest.fixture
def no_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)


def train(tmp_path, *extra, name="t", epochs=2):
    r = cli("train", digits_config(tmp_path, name, epochs=epochs), "--plain", *extra)
    assert r.exit_code == 0, r.output
    return r, tmp_path / "runs" / name


def test_train_and_eval_draw_and_say_where(tmp_path, mpl):
    r, run = train(tmp_path)
    assert f"plots:      {run / 'plots'}/ (loss.png, accuracy.png, lr.png)" in r.output
    r = cli("eval", run)
    assert r.exit_code == 0, r.output
    assert "report.json, confusion_matrix.csv and confusion_matrix.png" in r.output
    assert (run / "eval" / "confusion_matrix.png").is_file()


def test_no_plots_on_train_and_eval(tmp_path, mpl):
    r, run = train(tmp_path, "--no-plots")
    assert not (run / "plots").exists() and "plots:" not in r.output
    r = cli("eval", run, "--no-plots")
    assert r.exit_code == 0, r.output
    assert not (run / "eval" / "confusion_matrix.png").exists()
    assert "report.json and confusion_matrix.csv" in r.output


def test_resume_may_switch_plots_off(tmp_path, mpl):
    _, run = train(tmp_path, "--no-plots")
    r = cli("train", "--resume", run, "trainer.epochs=3", "output.plots=false", "--plain")
    assert r.exit_code == 0, r.output
    assert not (run / "plots").exists()
    # the run's config.yaml keeps the switch for later resumes, as it keeps trainer.epochs
    r = cli("train", "--resume", run, "trainer.epochs=4", "--plain")
    assert r.exit_code == 0, r.output
    assert not (run / "plots").exists()
    r = cli("train", "--resume", run, "trainer.epochs=5", "output.plots=true", "--plain")
    assert r.exit_code == 0, r.output
    assert (run / "plots" / "loss.png").is_file()


def test_without_matplotlib_one_line_and_nothing_else_changes(tmp_path, no_matplotlib):
    r, run = train(tmp_path)
    assert r.output.count(HINT) == 1
    assert (run / "weights" / "best.safetensors").is_file() and not (run / "plots").exists()
    r = cli("eval", run)
    assert r.exit_code == 0 and r.output.count(HINT) == 1
    r = cli("eval", run, "--json")
    assert r.exit_code == 0 and json.loads(r.output)["plot_error"] == HINT  # JSON alone
    r = cli("plot", run)
    assert r.exit_code == 2 and "pip install 'torchlite[plot]'" in r.output


def test_plot_redraws_a_run_and_overlays_runs(tmp_path, mpl):
    _, a = train(tmp_path, "--no-plots", name="a", epochs=2)
    _, b = train(tmp_path, "--no-plots", name="b", epochs=3)
    r = cli("plot", a)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (a / "plots").iterdir()) == \
        ["accuracy.png", "loss.png", "lr.png"]
    out = tmp_path / "cmp.png"
    r = cli("plot", a, b, "--metric", "val/accuracy", "--output", out)
    assert r.exit_code == 0, r.output
    assert out.is_file() and f"wrote {out} (val/accuracy)" in r.output
    r = cli("plot", a, b)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "runs" / "compare" / "val_loss.png").is_file()


def test_plot_usage_and_input_errors(tmp_path, mpl):
    _, run = train(tmp_path, "--no-plots", epochs=1)
    r = cli("plot", run, "--metric", "val/acc")
    assert r.exit_code == 2 and "did you mean 'val/accuracy'" in r.output
    r = cli("plot", run, "--output", tmp_path / "x.bmp9")
    assert r.exit_code == 2 and "unsupported extension" in r.output
    r = cli("plot", tmp_path / "nothing-here")
    assert r.exit_code == 3 and "no metrics.csv" in r.output
    assert not Path(tmp_path / "nothing-here").exists()
