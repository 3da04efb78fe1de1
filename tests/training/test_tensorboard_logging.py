"""output.tensorboard: per-epoch metrics, learning rate and weight/gradient histograms in
runs/<name>/tensorboard/, read back with the tensorboard package's EventAccumulator; refused
before the run without the [tensorboard] extra."""

import csv
import sys

import numpy as np
import pytest

import torchlite
from torchlite.errors import ConfigError
from torchlite.training import api
from torchlite.training.actions import EPOCH_END
from torchlite.training.config import validate_config
from torchlite.training.prepare import prepare
from torchlite.training.runs import create_run_dir
from torchlite.training.trainer import Trainer


def config(tmp_path, tensorboard=True, **trainer):
    return {
        "name": "tb", "seed": 3, "device": "cpu",
        "data": {"dataset": "blobs", "n_samples": 100, "n_classes": 3, "n_features": 4,
                 "val_split": 0.2, "test_split": 0.0, "batch_size": 30},
        "model": {"type": "mlp", "hidden": [6]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
        "scheduler": {"type": "StepLR", "step_size": 1, "gamma": 0.5},
        "trainer": {"epochs": 3, **trainer},
        "metrics": ["accuracy"],
        "output": {"root": str(tmp_path / "runs"), "tensorboard": tensorboard, "plots": False},
    }


def read(folder):
    ea = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="needs the tensorboard package: pip install 'torchlite[tensorboard]'")
    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0})
    return acc.Reload()


@pytest.fixture
def tbx():
    return pytest.importorskip("tensorboardX", reason="needs pip install 'torchlite[tensorboard]'")


def test_without_the_extra_the_config_is_refused_before_the_run(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    cfg_file = tmp_path / "tb.yaml"
    import yaml

    cfg_file.write_text(yaml.safe_dump(config(tmp_path)))
    with pytest.raises(ConfigError) as err:
        api.train(cfg_file)
    (problem,) = err.value.problems
    assert problem.path == "output.tensorboard" and problem.line is not None
    assert "pip install 'torchlite[tensorboard]'" in problem.message
    assert not (tmp_path / "runs").exists()  # no run folder was made
    # a config that does not ask for it trains as before
    cfg = validate_config(config(tmp_path, tensorboard=False))
    paths = create_run_dir(cfg.output.root, "off")
    Trainer(prepare(cfg), paths).fit()
    assert not (paths.root / "tensorboard").exists()


def test_every_metric_the_lr_and_histograms_per_epoch(tbx, tmp_path):
    cfg = validate_config(config(tmp_path, grad_clip=0.5))
    run = prepare(cfg)
    # what the optimizer was handed at each step, to compare with the logged histograms
    seen: list[dict] = []
    run.optimizer.register_step_pre_hook(lambda opt, a, k: seen.append(
        {n: p.grad.numpy().copy() for n, p in run.model.named_parameters()}))
    paths = create_run_dir(cfg.output.root, "tb")
    Trainer(run, paths).fit()

    acc = read(paths.root / "tensorboard")
    with open(paths.metrics, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    logged = ["train/loss", "train/accuracy", "val/loss", "val/accuracy", "lr"]
    assert sorted(acc.Tags()["scalars"]) == sorted(logged)
    for tag in logged:
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2, 3]
        np.testing.assert_allclose([e.value for e in events], [float(r[tag]) for r in rows],
                                   rtol=1e-6)
    assert [e.value for e in acc.Scalars("lr")] == pytest.approx([0.1, 0.05, 0.025])

    names = [n for n, _ in run.model.named_parameters()]
    assert sorted(acc.Tags()["histograms"]) == sorted(
        [f"weights/{n}" for n in names] + [f"gradients/{n}" for n in names])
    weights = torchlite.load(paths.last)
    steps_per_epoch = len(run.train_loader)
    for n in names:
        w = acc.Histograms(f"weights/{n}")
        assert [e.step for e in w] == [1, 2, 3]
        # the last epoch's weights are those saved in `last`
        np.testing.assert_allclose(w[-1].histogram_value.sum, weights[n].numpy().sum(),
                                   rtol=1e-5, atol=1e-6)
        g = acc.Histograms(f"gradients/{n}")
        assert [e.step for e in g] == [1, 2, 3]
        for epoch, event in enumerate(g, start=1):
            # the gradients of each epoch's last step (clipped, as the optimizer got them)
            last = seen[epoch * steps_per_epoch - 1][n]
            hv = event.histogram_value
            assert hv.num == last.size
            np.testing.assert_allclose([hv.sum, hv.sum_squares],
                                       [last.sum(), (last.astype(np.float64) ** 2).sum()],
                                       rtol=1e-5, atol=1e-7)
    assert len(run.optimizer._step_pre_hooks) == 1  # this test's own: the run removed its hook


def test_logging_changes_nothing_in_the_run(tbx, tmp_path):
    """Same seed, same weights bit for bit, with and without TensorBoard logging."""
    out = {}
    for on in (False, True):
        cfg = validate_config(config(tmp_path / str(on), tensorboard=on, epochs=2,
                                     accumulate_grad_batches=2))
        run = prepare(cfg)
        paths = create_run_dir(cfg.output.root, "same")
        Trainer(run, paths).fit()
        out[on] = {k: v.numpy() for k, v in torchlite.load(paths.last).items()}
        assert len(run.optimizer._step_pre_hooks) == 0  # the hook left with the run
    assert out[False].keys() == out[True].keys()
    for k in out[False]:
        assert np.array_equal(out[False][k], out[True][k]), k


def test_a_resumed_run_continues_the_same_log(tbx, tmp_path):
    import yaml

    cfg_file = tmp_path / "tb.yaml"
    cfg_file.write_text(yaml.safe_dump(config(tmp_path, epochs=2)))
    first = api.train(cfg_file)
    api.resume(first["run_dir"], epochs=4)
    acc = read(f"{first['run_dir']}/tensorboard")
    assert [e.step for e in acc.Scalars("val/loss")] == [1, 2, 3, 4]
    assert [e.step for e in acc.Histograms("gradients/0.weight")] == [1, 2, 3, 4]


def test_tensorboard_may_be_switched_on_for_a_resume(tbx, tmp_path):
    import yaml

    cfg_file = tmp_path / "tb.yaml"
    cfg_file.write_text(yaml.safe_dump(config(tmp_path, tensorboard=False, epochs=1)))
    first = api.train(cfg_file)
    api.resume(first["run_dir"], ["output.tensorboard=true"], epochs=2)
    acc = read(f"{first['run_dir']}/tensorboard")
    assert [e.step for e in acc.Scalars("train/loss")] == [2]


def test_the_action_runs_before_the_epoch_is_logged_and_reported(tmp_path):
    names = [a.__name__ for a in EPOCH_END]
    assert names.index("save_last") < names.index("tensorboard_log") < names.index("log_epoch")


def test_a_link_in_place_of_the_tensorboard_folder_is_refused(tbx, tmp_path):
    from torchlite.training.run_guard import RunFolderError

    cfg = validate_config(config(tmp_path, epochs=1))
    paths = create_run_dir(cfg.output.root, "link")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (paths.root / "tensorboard").symlink_to(elsewhere)
    with pytest.raises(RunFolderError, match="symbolic link"):
        Trainer(prepare(cfg), paths).fit()
    assert not any(elsewhere.iterdir())
