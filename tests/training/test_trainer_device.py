"""The trainer's GPU paths that can run anywhere: device-side accumulation of losses and metrics
(forced on the CPU, it must give the CPU's numbers), and out-of-memory handling."""

from __future__ import annotations

import json

import numpy as np
import pytest

import torchlite
from torchlite.training import trainer as trainer_mod
from torchlite.training.config import validate_config
from torchlite.training.prepare import prepare
from torchlite.training.runs import create_run_dir
from torchlite.training.trainer import Trainer


def config(tmp_path, *, metrics=("accuracy", "f1_macro", "top2_accuracy"), task="blobs",
           **trainer):
    data = {"dataset": "blobs", "n_samples": 400, "n_classes": 3, "n_features": 4,
            "val_split": 0.25, "test_split": 0.0, "batch_size": 32}
    loss = {"type": "CrossEntropyLoss", "label_smoothing": 0.1}
    model = {"type": "mlp", "hidden": [16], "dropout": 0.2}
    if task == "regression":
        data = {"dataset": "regression", "n_samples": 300, "n_features": 5, "val_split": 0.2,
                "test_split": 0.0, "batch_size": 32}
        loss = {"type": "MSELoss"}
        model = {"type": "mlp", "hidden": [8]}
    cfg = {
        "name": "t", "seed": 1, "device": "cpu", "data": data, "model": model, "loss": loss,
        "optimizer": {"type": "Adam", "lr": 0.01},
        "trainer": {"epochs": 3, "log_every_n_steps": 4, **trainer},
        "metrics": list(metrics),
        "output": {"root": str(tmp_path / "runs")},
    }
    if task == "regression":
        cfg["trainer"]["checkpoint"] = {"monitor": "val/loss", "mode": "min"}
    return validate_config(cfg)


def _rows(paths):
    rows = [r.split(",") for r in paths.metrics.read_text().splitlines()]
    return [[c for i, c in enumerate(r) if i != 2] for r in rows]  # without time_s


def _weights(path):
    return {k: v.numpy() for k, v in torchlite.load(path).items()}


@pytest.mark.parametrize("task", ["blobs", "regression"])
def test_device_accumulation_gives_the_cpu_numbers(tmp_path, monkeypatch, task):
    metrics = ("accuracy", "f1_macro", "top2_accuracy") if task == "blobs" else \
        ("mse", "mae", "r2")
    cfg = config(tmp_path, metrics=metrics, task=task)
    host = create_run_dir(cfg.output.root, "host")
    Trainer(prepare(cfg), host).fit()
    monkeypatch.setattr(trainer_mod, "_accumulate_on_device", lambda device: True)
    dev = create_run_dir(cfg.output.root, "dev")
    Trainer(prepare(cfg), dev).fit()
    a, b = _rows(host), _rows(dev)
    assert a[0] == b[0] and len(a) == len(b) == 4
    for ra, rb in zip(a[1:], b[1:]):
        assert [float(x) for x in ra] == pytest.approx([float(x) for x in rb], rel=1e-12)
    wa, wb = _weights(host.last), _weights(dev.last)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_evaluate_on_device_equals_host(monkeypatch, tmp_path):
    cfg = config(tmp_path)
    t = Trainer(prepare(cfg), create_run_dir(cfg.output.root, "eval"))
    loader = t._eval_loader(t.data.val)
    args = (t.model, t.loss_fn, loader, "cpu", t.metric_names, t.data.task, t.data.num_classes)
    want = trainer_mod.evaluate(*args)
    monkeypatch.setattr(trainer_mod, "_accumulate_on_device", lambda device: True)
    assert trainer_mod.evaluate(*args) == want


def test_out_of_memory_keeps_last_and_says_how_to_go_on(tmp_path):
    cfg = config(tmp_path, epochs=3)
    paths = create_run_dir(cfg.output.root, "oom")
    saved = {}

    def callback(event, **info):
        if event == "epoch_end" and info["epoch"] == 1:
            trainer.files.wait()  # (the epoch's files are written in the background)
            saved["last"] = paths.last.read_bytes()
            saved["state"] = paths.state.read_bytes()

    trainer = Trainer(prepare(cfg), paths, callback=callback)
    real_step = trainer._optimizer_step

    def step():
        if trainer.state.epoch == 1 and trainer.state.batch == 3:
            raise torchlite.cuda.OutOfMemoryError(
                "CUDA out of memory on cuda:0: tried to allocate 2.00 GiB; try a smaller batch")
        real_step()

    trainer._optimizer_step = step
    with pytest.raises(torchlite.cuda.OutOfMemoryError) as exc:
        trainer.fit()
    msg = str(exc.value)
    assert "tried to allocate 2.00 GiB" in msg and "\n" not in msg
    assert f"the weights of epoch 1 are kept in {paths.last}" in msg
    assert f"torchlite train --resume {paths.root}" in msg
    assert paths.last.read_bytes() == saved["last"]  # `last` is the last finished epoch, whole
    assert paths.state.read_bytes() == saved["state"]
    summary = json.loads(paths.summary.read_text())
    assert summary["status"] == "failed" and summary["stop_reason"].startswith("out of memory")
    assert "end: failed (out of memory)" in paths.log.read_text()
    done = Trainer(prepare(cfg), paths, resume=True).fit()  # and the run continues from there
    assert done["status"] == "completed" and done["epochs_completed"] == 3


def test_out_of_memory_before_any_epoch(tmp_path):
    cfg = config(tmp_path, epochs=1)
    paths = create_run_dir(cfg.output.root, "oom0")
    trainer = Trainer(prepare(cfg), paths)

    def step():
        raise torchlite.cuda.OutOfMemoryError("CUDA out of memory on cuda:0")

    trainer._optimizer_step = step
    with pytest.raises(torchlite.cuda.OutOfMemoryError, match="no epoch had finished"):
        trainer.fit()
    assert not paths.last.exists()


def test_out_of_memory_in_the_first_batch_check_is_not_a_config_error(tmp_path, monkeypatch):
    def forward(self, x):
        raise torchlite.cuda.OutOfMemoryError("CUDA out of memory on cuda:0")

    cfg = config(tmp_path)
    from torchlite.nn import Sequential

    monkeypatch.setattr(Sequential, "forward", forward)
    with pytest.raises(torchlite.cuda.OutOfMemoryError):
        prepare(cfg)


def test_training_on_the_device_matches_the_cpu(tmp_path, device):
    """On a GPU: the same run as on the CPU to float32 tolerance, and its checkpoints load on
    the CPU (and CPU checkpoints on the GPU)."""
    if device == "cpu":
        pytest.skip("compares a GPU run with the CPU's")
    cfg = config(tmp_path, epochs=2)
    cpu = create_run_dir(cfg.output.root, "cpu")
    Trainer(prepare(cfg), cpu).fit()
    gpu_cfg = cfg.model_copy(update={"device": device})
    gpu = create_run_dir(cfg.output.root, "gpu")
    summary = Trainer(prepare(gpu_cfg), gpu).fit()
    assert summary["device"] == device
    a, b = _rows(cpu), _rows(gpu)
    assert a[0] == b[0]
    for ra, rb in zip(a[1:], b[1:]):
        assert [float(x) for x in ra] == pytest.approx([float(x) for x in rb], rel=2e-3,
                                                        abs=2e-3)
    wa, wb = _weights(cpu.last), _weights(gpu.last)  # the GPU's file, read on the CPU
    for k in wa:
        np.testing.assert_allclose(wa[k], wb[k], rtol=1e-3, atol=1e-4)
    model = prepare(cfg).model
    model.load_state_dict(torchlite.load(gpu.last))  # GPU-written weights into a CPU model
    model.to(device).load_state_dict(torchlite.load(cpu.last))  # and CPU's into a GPU model
    assert all(p.device.type == "cuda" for p in model.parameters())
