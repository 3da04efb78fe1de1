"""Optimizer and scheduler settings that pass the schema's types but would crash in the middle of
a run: refused by `train` (before the run folder exists) and by `validate`, exit code 2, one line
naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._checks import digits_config, run
from ._checks import refused as _refused


def config(tmp_path: Path) -> Path:
    return digits_config(tmp_path)


def refused(tmp_path, command: str, *overrides) -> str:
    return _refused(tmp_path, command, config(tmp_path), *overrides)


BAD_SCHEDULES = [
    ("scheduler={type: CosineAnnealingLR, T_max: 0}", "scheduler.T_max: must be an integer >= 1"),
    ("scheduler={type: StepLR, step_size: 0}", "scheduler.step_size: must be an integer >= 1"),
    ("scheduler={type: StepLR, step_size: 2.5}", "scheduler.step_size: must be an integer"),
    ("scheduler={type: CosineAnnealingWarmRestarts, T_0: 0}", "scheduler.T_0: must be"),
    ("scheduler={type: PolynomialLR, total_iters: 0}", "scheduler.total_iters: must be"),
    ("scheduler={type: MultiStepLR, milestones: [0, 3]}", "scheduler.milestones: must be"),
    ("scheduler={type: SequentialLR, milestones: [1], schedulers: [{type: LinearLR}, "
     "{type: StepLR, step_size: 0}]}", "scheduler.schedulers.1.step_size: must be"),
    ("scheduler={type: ReduceLROnPlateau, interval: step}",
     "scheduler.interval: ReduceLROnPlateau is stepped with the monitored metric once per epoch"),
    ("scheduler={type: ExponentialLR, gamma: -0.5}",
     "scheduler: ExponentialLR sets the learning rate to -0.005 at step 1"),
    ("scheduler={type: OneCycleLR, max_lr: 0.1, total_steps: 10}",
     "scheduler.total_steps: OneCycleLR's 10 total steps are fewer than the 18 scheduler steps"),
    ("scheduler={type: OneCycleLR, max_lr: 0.1, epochs: 1, steps_per_epoch: 9}",
     "scheduler.epochs: OneCycleLR's 9 total steps are fewer than the 18"),
]


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("override, fragment", BAD_SCHEDULES,
                         ids=[b[1][:40] for b in BAD_SCHEDULES])
def test_bad_schedule_refused_before_the_run_folder(tmp_path, command, override, fragment):
    assert fragment in refused(tmp_path, command, override)


@pytest.mark.parametrize("command", ["train", "validate"])
def test_optimizer_that_needs_a_closure_is_refused(tmp_path, command):
    line = refused(tmp_path, command, "optimizer={type: LBFGS}")
    assert "optimizer.type: LBFGS needs a closure" in line
    assert "cannot be used by the trainer" in line


def test_one_cycle_following_the_epochs_trains(tmp_path):
    # accumulation: 9 batches -> 3 optimizer steps per epoch, so OneCycleLR's 6 steps suffice
    run("train", config(tmp_path), "trainer.accumulate_grad_batches=4",
        "scheduler={type: OneCycleLR, max_lr: 0.01}")
    run("train", config(tmp_path), "name=exact",
        "scheduler={type: OneCycleLR, max_lr: 0.01, total_steps: 18}")


def test_one_cycle_stepped_per_epoch_counts_epochs(tmp_path):
    run("validate", config(tmp_path),
        "scheduler={type: OneCycleLR, max_lr: 0.01, total_steps: 2, interval: epoch}")
    line = refused(tmp_path, "validate",
                   "scheduler={type: OneCycleLR, max_lr: 0.01, total_steps: 1, interval: epoch}")
    assert "fewer than the 2 scheduler steps" in line and "once per epoch" in line


def test_one_cycle_stepped_per_epoch_spans_the_epochs(tmp_path):
    # its default total steps are the epochs (not epochs x batches): the last epoch runs at the
    # cycle's minimum lr, max_lr / (div_factor * final_div_factor)
    run("train", config(tmp_path), "trainer.epochs=3",
        "scheduler={type: OneCycleLR, max_lr: 0.01, interval: epoch}")
    rows = (tmp_path / "runs" / "t" / "metrics.csv").read_text().splitlines()
    header, last = rows[0].split(","), rows[-1].split(",")
    assert float(last[header.index("lr")]) == pytest.approx(0.01 / 25 / 1e4)
