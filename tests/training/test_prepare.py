"""prepare(cfg): each object built once, checked without being changed, and the global RNG left
exactly as building the run leaves it (so the checks cannot change a run's numbers)."""

from __future__ import annotations

import numpy as np

import torchlite
from torchlite.optim import SGD
from torchlite.optim.lr_scheduler import ExponentialLR, OneCycleLR
from torchlite.training import api
from torchlite.training import prepare as prepare_mod
from torchlite.training.build import build_data
from torchlite.training.config import Config, validate_config
from torchlite.training.prepare import prepare
from torchlite.training.restore import checked_build

from ._config_base import BASE, write


def config(**changes):
    data = {
        "name": "p", "seed": 3, "device": "cpu",
        "data": {"dataset": "blobs", "n_samples": 200, "n_classes": 3, "n_features": 4,
                 "val_split": 0.25, "test_split": 0.0, "batch_size": 32},
        "model": {"type": "mlp", "hidden": [8], "dropout": 0.2},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9},
        "scheduler": {"type": "ExponentialLR", "gamma": 0.5},
        "trainer": {"epochs": 3},
        "metrics": ["accuracy"],
    }
    data.update(changes)
    return validate_config(data)


def _same_rng(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k]))
                                        for k in a)


def counting(monkeypatch, cls) -> list:
    made: list = []
    init = cls.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__init__", counted)
    return made


def test_optimizer_and_scheduler_are_built_once_and_used(monkeypatch):
    optimizers, schedulers = counting(monkeypatch, SGD), counting(monkeypatch, ExponentialLR)
    run = prepare(config())
    assert optimizers == [run.optimizer] and schedulers == [run.scheduler]
    assert run.scheduler.optimizer is run.optimizer
    assert [id(p) for p in run.optimizer.param_groups[0]["params"]] == \
        [id(p) for p in run.model.parameters()]


def test_the_checks_leave_the_built_objects_as_built():
    run = prepare(config())
    opt, sched = run.optimizer, run.scheduler
    assert len(opt.state) == 0  # no step was taken on the model's parameters
    assert opt.param_groups[0]["lr"] == 0.05 and sched.last_epoch == 0
    assert all(p.grad is None for p in run.model.parameters())
    fresh = ExponentialLR(SGD(run.model.parameters(), lr=0.05, momentum=0.9), gamma=0.5)
    assert sched.state_dict() == fresh.state_dict()


def test_a_one_cycle_schedule_is_checked_on_a_copy():
    cfg = config(scheduler={"type": "OneCycleLR", "max_lr": 0.1})
    run = prepare(cfg)
    assert isinstance(run.scheduler, OneCycleLR)
    assert run.scheduler.total_steps == 3 * run.steps_per_epoch
    assert run.scheduler.last_epoch == 0 and run.scheduler._step_count == 1


def test_the_checks_draw_no_random_numbers():
    cfg = config()
    prepare(cfg)
    after_prepare = torchlite.get_rng_state()
    torchlite.manual_seed(cfg.seed)  # what building the run alone leaves behind
    checked_build(cfg, build_data(cfg))
    assert _same_rng(after_prepare, torchlite.get_rng_state())


def test_prepare_twice_gives_the_same_weights():
    a, b = prepare(config()).model.state_dict(), prepare(config()).model.state_dict()
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_the_model_stage_builds_no_optimizer_and_does_not_seed():
    cfg = config()
    torchlite.manual_seed(123)
    run = prepare(cfg, upto="model", device="cpu")
    assert run.optimizer is None and run.scheduler is None and run.first_batch == ()
    after = torchlite.get_rng_state()
    torchlite.manual_seed(123)  # a plain build from the caller's RNG, not from cfg.seed
    checked_build(cfg, build_data(cfg))
    assert _same_rng(after, torchlite.get_rng_state())


def test_validate_reports_the_one_batch_check_of_prepare(tmp_path, monkeypatch):
    calls = []
    check = prepare_mod.check_one_batch
    monkeypatch.setattr(prepare_mod, "check_one_batch", lambda run: calls.append(1) or check(run))
    r = api.validate(write(tmp_path, BASE), ["device=cpu"])
    assert calls == [1]
    assert r["output_shape"] == [8, 10] and np.isfinite(r["loss"])


def test_cross_section_checks_run_once_per_config(tmp_path, monkeypatch):
    calls = []
    cross_check = Config.cross_check
    monkeypatch.setattr(Config, "cross_check", lambda self: calls.append(1) or cross_check(self))
    from torchlite.training.config import load_config

    load_config(write(tmp_path, BASE))
    assert calls == [1]



def test_a_regression_output_width_unlike_the_targets_is_refused_before_the_run():
    from torchlite.errors import ConfigError

    regression = {"dataset": "regression", "n_samples": 100, "n_targets": 2,
                  "val_split": 0.2, "test_split": 0.0, "batch_size": 16}
    for width, loss in [(3, "MSELoss"), (1, "L1Loss")]:  # 1 would broadcast silently
        cfg = config(data=regression, model={"type": "mlp", "hidden": [8], "out_features": width},
                     loss={"type": loss}, scheduler=None, metrics=[])
        try:
            prepare(cfg)
        except ConfigError as exc:
            assert str(exc) == (
                f"model.out_features: the model's outputs have shape [{width}] per sample but "
                f"the targets [2]: {loss} needs them equal; make the model's output width 2")
        else:
            raise AssertionError(f"an output width of {width} was accepted")
    cfg = config(data=regression, model={"type": "mlp", "hidden": [8], "out_features": 2},
                 loss={"type": "MSELoss"}, scheduler=None, metrics=[])
    assert prepare(cfg).first_batch[0] == [8, 2]  # the check runs a batch of at most 8
