"""`train --resume` of a run with nothing left to do (completed, stopped early, --epochs below the
epochs done) or with a schedule that cannot follow raised epochs (OneCycleLR): exit 2 with one
line, and the run folder is left exactly as it was."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from torchlite.training import api

from ._checks import digits_config, error_line


def trained(tmp_path: Path, *overrides) -> Path:
    api.train(digits_config(tmp_path), list(overrides))
    return tmp_path / "runs" / "t"


def snapshot(run: Path) -> dict:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file()}


def refused_resume(run: Path, *overrides, epochs: int | None = None) -> str:
    before = snapshot(run)
    line = error_line(lambda: api.resume(run, list(overrides), epochs=epochs))
    assert snapshot(run) == before  # nothing trained, no row appended, no log line
    return line


def test_resuming_a_completed_run_says_so_and_changes_nothing(tmp_path):
    run = trained(tmp_path)
    line = refused_resume(run)
    assert "trainer.epochs: the run has already completed its 2 epochs" in line
    assert "give more epochs" in line


def test_epochs_below_the_completed_count_is_refused(tmp_path):
    run = trained(tmp_path)
    line = refused_resume(run, epochs=1)
    assert "override 'trainer.epochs=1': trainer.epochs: 1 is below the 2 epochs" in line


def test_raising_the_epochs_of_a_completed_run_trains_on(tmp_path):
    run = trained(tmp_path)
    api.resume(run, epochs=3)
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 3


def test_resuming_an_early_stopped_run_says_so_and_changes_nothing(tmp_path):
    # min_delta 10: no epoch after the first counts as an improvement, so it stops at epoch 2
    run = trained(tmp_path, "trainer.epochs=6",
                  "trainer.early_stopping={monitor: val/loss, patience: 0, min_delta: 10}")
    assert json.loads((run / "summary.json").read_text())["stop_reason"] == "early_stopping"
    for epochs in (None, 10):
        line = refused_resume(run, epochs=epochs)
        assert "trainer.early_stopping.patience: the run stopped early after epoch 2" in line
    # raising the patience is the way to train on
    api.resume(run, ["trainer.early_stopping.patience=10"])
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 6


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_one_cycle_cannot_follow_raised_epochs_on_resume(tmp_path, interval):
    run = trained(tmp_path, f"scheduler={{type: OneCycleLR, max_lr: 0.01, interval: {interval}}}")
    line = refused_resume(run, epochs=3)
    assert "trainer.epochs: OneCycleLR fixes its total steps when a run starts" in line
    assert "cannot train past epoch 2" in line


@pytest.mark.parametrize("override, path", [
    ("optimizer.lr=0.5", "optimizer.lr"),  # the saved optimizer state would silently win
    ("model.layers.1.type=Tanh", "model.layers.1.type"),  # same shapes, another model
    # early stopping is on by default (val/loss); another min_delta is another run
    ("trainer.early_stopping={monitor: val/loss, patience: 5, min_delta: 0.5}",
     "trainer.early_stopping.min_delta"),
])
def test_an_override_that_would_change_the_trained_run_is_refused(tmp_path, override, path):
    run = trained(tmp_path)
    line = refused_resume(run, override, epochs=3)
    assert f"override '{override}': {path}: cannot change on --resume" in line
    assert "only trainer.epochs, trainer.early_stopping.patience" in line


def test_turning_early_stopping_on_for_a_run_trained_without_it_is_refused(tmp_path):
    run = trained(tmp_path, "trainer.early_stopping=null")
    override = "trainer.early_stopping={monitor: val/loss, patience: 5}"
    line = refused_resume(run, override, epochs=3)
    assert f"override '{override}': trainer.early_stopping: cannot change on --resume" in line


def test_overrides_that_only_extend_or_move_the_run_are_applied(tmp_path):
    run = trained(tmp_path)
    api.resume(run, ["device=cpu", "trainer.log_every_n_steps=7",
                         "optimizer.lr=0.01"], epochs=3)  # lr as trained: no change
    config = (run / "config.yaml").read_text()  # what a later resume continues from
    assert "log_every_n_steps: 7" in config and "epochs: 3" in config
    assert "has already completed its 3 epochs" in refused_resume(run)  # nothing left to do


def test_overrides_compare_as_validated_settings(tmp_path):
    run = trained(tmp_path, "trainer.early_stopping={monitor: val/loss, patience: 5}",
                  "optimizer.weight_decay=0.0")
    # the same section written again with only patience changed, and 0.0 written as 0
    api.resume(run, ["trainer.early_stopping={monitor: val/loss, patience: 9}",
                     "optimizer.weight_decay=0"], epochs=3)
    assert "patience: 9" in (run / "config.yaml").read_text()


def test_a_hand_edited_config_yaml_is_compared_with_the_trained_config(tmp_path):
    run = trained(tmp_path)
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("batch_size: 128", "batch_size: 64"))
    line = refused_resume(run, epochs=3)
    assert f"{config}:" in line
    assert "data.batch_size: cannot change on --resume (the run was trained with 128)" in line
