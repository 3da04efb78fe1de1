"""The training loop from Python: mid-epoch interruption and resume, accumulation, clipping,
early stopping, and the event stream."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite
from torchlite.training.config import validate_config
from torchlite.training.prepare import prepare
from torchlite.training.runs import create_run_dir
from torchlite.training.trainer import Trainer, TrainingInterrupted


def config(tmp_path, **trainer):
    data = {
        "name": "t", "seed": 1, "device": "cpu",
        "data": {"dataset": "blobs", "n_samples": 400, "n_classes": 3, "n_features": 4,
                 "val_split": 0.25, "test_split": 0.0, "batch_size": 32},
        "model": {"type": "mlp", "hidden": [16], "dropout": 0.2},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9},
        "scheduler": {"type": "ExponentialLR", "gamma": 0.9},
        "trainer": {"epochs": 4, "log_every_n_steps": 1, **trainer},
        "metrics": ["accuracy"],
        "output": {"root": str(tmp_path / "runs")},
    }
    return validate_config(data)


def final_weights(paths):
    return {k: v.numpy() for k, v in torchlite.load(paths.last).items()}


def test_mid_epoch_interrupt_then_resume_is_bit_identical(tmp_path):
    cfg = config(tmp_path)
    full = create_run_dir(cfg.output.root, "full")
    Trainer(prepare(cfg), full).fit()

    part = create_run_dir(cfg.output.root, "part")
    trainer = Trainer(prepare(cfg), part)

    def stop_in_epoch_2(event, **info):
        if event == "step" and info["epoch"] == 2 and info["batch"] == 5:
            trainer._signals.stop = "SIGINT"

    trainer.callback = stop_in_epoch_2
    with pytest.raises(TrainingInterrupted):
        trainer.fit()
    state = torchlite.load(part.state)
    assert state["loop"]["epoch"] == 1 and state["loop"]["batch"] == 5

    Trainer(prepare(cfg), part, resume=True).fit()
    a, b = final_weights(full), final_weights(part)
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    # the interrupted epoch's row continues its running sums: the metrics match too
    rows_full = full.metrics.read_text().splitlines()
    rows_part = part.metrics.read_text().splitlines()
    drop_time = [[c for i, c in enumerate(r.split(",")) if i != 2] for r in rows_full]
    assert drop_time == [[c for i, c in enumerate(r.split(",")) if i != 2] for r in rows_part]


def test_a_stop_inside_an_accumulation_window_waits_for_its_step(tmp_path):
    """Gradients accumulated since the last optimizer step are not saved: the run stops after
    the window's step, and the resumed run ends bit-identical to an uninterrupted one."""
    cfg = config(tmp_path, accumulate_grad_batches=3)
    full = create_run_dir(cfg.output.root, "full")
    Trainer(prepare(cfg), full).fit()
    part = create_run_dir(cfg.output.root, "part")
    trainer = Trainer(prepare(cfg), part)

    def stop_in_epoch_2(event, **info):
        if event == "step" and info["epoch"] == 2 and info["batch"] == 4:
            trainer._signals.stop = "SIGTERM"

    trainer.callback = stop_in_epoch_2
    with pytest.raises(TrainingInterrupted):
        trainer.fit()
    assert torchlite.load(part.state)["loop"]["batch"] == 6  # the window 4..6 finished
    Trainer(prepare(cfg), part, resume=True).fit()
    a, b = final_weights(full), final_weights(part)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_events_and_summary(tmp_path):
    cfg = config(tmp_path, epochs=2)
    events = []
    paths = create_run_dir(cfg.output.root, "ev")
    summary = Trainer(prepare(cfg), paths, callback=lambda e, **i: events.append((e, i))).fit()
    kinds = [e for e, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("epoch_end") == 2
    ends = [i for e, i in events if e == "epoch_end"]
    assert ends[1]["lr"] == pytest.approx(0.05 * 0.9)  # ExponentialLR stepped once per epoch
    assert summary["status"] == "completed" and summary["epochs_completed"] == 2
    assert summary["steps"] == 2 * int(np.ceil(300 / 32))


def test_accumulation_takes_fewer_optimizer_steps(tmp_path):
    cfg = config(tmp_path, epochs=1, accumulate_grad_batches=3)
    paths = create_run_dir(cfg.output.root, "acc")
    summary = Trainer(prepare(cfg), paths).fit()
    assert summary["steps"] == int(np.ceil(np.ceil(300 / 32) / 3))


def test_early_stopping_stops(tmp_path):
    cfg = config(tmp_path, epochs=50,
                 early_stopping={"monitor": "val/loss", "mode": "min", "patience": 0,
                                 "min_delta": 10.0})
    paths = create_run_dir(cfg.output.root, "es")
    summary = Trainer(prepare(cfg), paths).fit()
    # min_delta 10 can never be beaten: the first epoch sets the best, the second stops
    assert summary["stop_reason"] == "early_stopping" and summary["epochs_completed"] == 2


def test_grad_clip_limits_the_update(tmp_path):
    cfg = config(tmp_path, epochs=1, grad_clip=1e-8)
    paths = create_run_dir(cfg.output.root, "clip")
    torchlite.manual_seed(cfg.seed)
    trainer = Trainer(prepare(cfg), paths)
    trainer.fit()
    # with a vanishing gradient norm the weights barely move from their initialisation
    from torchlite.training.build import build_data, build_model

    torchlite.manual_seed(cfg.seed)
    init = build_model(cfg, build_data(cfg)).state_dict()
    last = torchlite.load(paths.last)
    for k, v in init.items():
        assert np.allclose(v.numpy(), last[k].numpy(), atol=1e-6)
