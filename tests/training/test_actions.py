"""The end-of-epoch actions: what each one receives, a custom list, and the order that the run's
files depend on."""

from __future__ import annotations

import torchlite
from torchlite.training import actions
from torchlite.training.actions import EPOCH_END, EpochEnd
from torchlite.training.config import validate_config
from torchlite.training.prepare import prepare
from torchlite.training.runs import create_run_dir
from torchlite.training.trainer import Trainer


def config(tmp_path, **trainer):
    return validate_config({
        "name": "a", "seed": 2, "device": "cpu",
        "data": {"dataset": "blobs", "n_samples": 120, "n_classes": 3, "n_features": 4,
                 "val_split": 0.25, "test_split": 0.0, "batch_size": 30},
        "model": {"type": "mlp", "hidden": [8]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.05},
        "trainer": {"epochs": 4, **trainer},
        "metrics": ["accuracy"],
        "output": {"root": str(tmp_path / "runs")},
    })


def test_each_action_gets_the_epoch_its_metrics_and_its_csv_row(tmp_path):
    cfg = config(tmp_path, epochs=2)
    seen: list[EpochEnd] = []
    run = Trainer(prepare(cfg), create_run_dir(cfg.output.root, "a"),
                  actions=[*EPOCH_END, lambda tr, end: seen.append(end)])
    summary = run.fit()
    assert [e.epoch for e in seen] == [1, 2]
    assert set(seen[0].row) == {"train/loss", "train/accuracy", "val/loss", "val/accuracy"}
    assert seen[1].record == {"epoch": 2, "step": 6, "time_s": seen[1].record["time_s"],
                              "lr": 0.05, **seen[1].row}
    assert summary["final_metrics"] == seen[1].record


def test_an_action_returning_true_stops_after_the_epoch_and_the_rest_still_run(tmp_path):
    cfg = config(tmp_path)
    paths = create_run_dir(cfg.output.root, "stop")
    summary = Trainer(prepare(cfg), paths,
                      actions=[lambda tr, end: end.epoch == 2, *EPOCH_END]).fit()
    assert summary["stop_reason"] == "early_stopping" and summary["epochs_completed"] == 2
    assert torchlite.load(paths.state)["loop"]["epoch"] == 2  # save_last ran after the stop


def test_the_saved_state_holds_this_epochs_early_stopping_counters(tmp_path):
    """early_stopping runs before save_last: a resume continues the same count."""
    names = [a.__name__ for a in EPOCH_END]
    assert names.index("early_stopping") < names.index("save_last")
    assert names.index("record_metrics") < names.index("check_weights") < names.index("save_best")
    assert names[-2:] == ["log_epoch", "report_epoch"]
    cfg = config(tmp_path, epochs=3, early_stopping={"monitor": "val/loss", "patience": 5,
                                                     "min_delta": 100.0})
    paths = create_run_dir(cfg.output.root, "es")
    Trainer(prepare(cfg), paths).fit()
    loop = torchlite.load(paths.state)["loop"]
    assert loop["bad_epochs"] == 2 and loop["es_best"] is not None


def test_a_run_without_weight_actions_writes_no_weights(tmp_path):
    cfg = config(tmp_path, epochs=1)
    paths = create_run_dir(cfg.output.root, "bare")
    keep = [actions.record_metrics, actions.log_epoch, actions.report_epoch]
    summary = Trainer(prepare(cfg), paths, actions=keep).fit()
    assert summary["status"] == "completed" and summary["last"] is None
    assert len(paths.metrics.read_text().splitlines()) == 2


def test_early_stopping_counts_patience_as_keras_and_lightning(tmp_path):
    """patience 2: the run stops at the second epoch in a row without improvement (epoch 3, as
    the first sets the best), not at the third; the summary says why and by how much."""
    cfg = config(tmp_path, epochs=10, early_stopping={"monitor": "val/loss", "patience": 2,
                                                      "min_delta": 100.0})
    summary = Trainer(prepare(cfg), create_run_dir(cfg.output.root, "es2")).fit()
    assert summary["stop_reason"] == "early_stopping" and summary["epochs_completed"] == 3
    es = summary["early_stopping"]
    assert es["patience"] == 2 and es["epochs_without_improvement"] == 2
    assert es["monitor"] == "val/loss" and es["mode"] == "min" and es["min_delta"] == 100.0


def test_early_stopping_in_max_mode_keeps_training_while_it_improves(tmp_path):
    cfg = config(tmp_path, epochs=3, early_stopping={"monitor": "train/loss", "mode": "max",
                                                     "patience": 1})
    # SGD lowers the train loss every epoch: in max mode that never improves
    summary = Trainer(prepare(cfg), create_run_dir(cfg.output.root, "esmax")).fit()
    assert summary["stop_reason"] == "early_stopping" and summary["epochs_completed"] == 2
