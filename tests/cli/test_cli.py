"""End-to-end tests of the torchlite CLI: every command's happy path and files, exit codes,
resume and same-seed equality, corrupt checkpoints, interruption."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite

runner = CliRunner()

TINY = """\
name: tiny
seed: 3
device: cpu
data:
  dataset: digits
  val_split: 0.2
  test_split: 0.2
  batch_size: 64
  normalize: standard
model:
  type: sequential
  layers:
    - {{type: Linear, in_features: 64, out_features: 32}}
    - {{type: ReLU}}
    - {{type: Dropout, p: 0.1}}
    - {{type: Linear, in_features: 32, out_features: 10}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: AdamW, lr: 3e-3}}
scheduler: {{type: StepLR, step_size: 2, gamma: 0.5}}
trainer:
  epochs: {epochs}
  checkpoint: {{monitor: val/accuracy, mode: max}}
metrics: [accuracy, f1_macro]
output: {{root: {root}}}
"""


def write_cfg(tmp_path: Path, epochs: int = 2, **extra) -> Path:
    text = TINY.format(epochs=epochs, root=tmp_path / "runs")
    p = tmp_path / "tiny.yaml"
    p.write_text(text)
    return p


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def weights(path) -> dict:
    return {k: v.numpy() for k, v in torchlite.load(path).items()}


def test_version_and_help():
    r = cli("--version")
    assert r.exit_code == 0 and r.output.startswith("torchlite ")
    r = cli("--help")
    assert r.exit_code == 0 and "train" in r.output and "infer" in r.output


def test_train_eval_infer_happy_path(tmp_path):
    cfg = write_cfg(tmp_path, epochs=3)
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 0, r.output
    run = tmp_path / "runs" / "tiny"
    for name in ("config.yaml", "metrics.csv", "train.log", "summary.json",
                 "weights/best.safetensors", "weights/last.safetensors",
                 "weights/last_state.safetensors"):
        assert (run / name).is_file(), name
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == ["epoch", "step", "time_s", "lr", "train/loss", "train/accuracy",
                      "train/f1_macro", "val/loss", "val/accuracy", "val/f1_macro"]
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [1, 2, 3]
    # StepLR(step_size=2, gamma=0.5): lr 3e-3 for epochs 1-2, 1.5e-3 for epoch 3
    lrs = [float(r.split(",")[3]) for r in rows]
    assert lrs == pytest.approx([3e-3, 3e-3, 1.5e-3])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_completed"] == 3
    assert "torchlite eval" in r.output

    # the weights load into a fresh model of the same architecture
    sd = torchlite.load(run / "weights" / "best.safetensors")
    assert set(sd) == {"0.weight", "0.bias", "3.weight", "3.bias"}
    assert tuple(sd["0.weight"].shape) == (32, 64)

    r = cli("eval", run / "weights" / "best.safetensors", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["split"] == "test" and rep["samples"] > 300
    assert 0.8 < rep["accuracy"] <= 1.0
    cm = np.array(rep["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == rep["samples"]
    assert rep["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert (run / "eval" / "report.json").is_file()
    assert (run / "eval" / "confusion_matrix.csv").is_file()

    # raw inputs, as the dataset stores them: (N, 1, 8, 8) pixel counts 0..16
    raw = torchlite.datasets.digits()
    x = np.asarray(raw.inputs[:20])
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "pred.csv"
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--output", out)
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == "index,class,confidence" and len(lines) == 21
    pred = np.array([int(line.split(",")[1]) for line in lines[1:]])
    assert (pred == raw.targets[:20]).mean() >= 0.8
    # one unbatched sample, and .npy / .json outputs
    np.save(tmp_path / "one.npy", x[0])
    r = cli("infer", tmp_path / "one.npy", "--checkpoint", run, "--output",
            tmp_path / "one.npy.json")
    assert r.exit_code == 0, r.output
    assert len(json.loads((tmp_path / "one.npy.json").read_text())["pred"]) == 1
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--output", tmp_path / "p.npy",
            "--probs")
    probs = np.load(tmp_path / "p.npy")
    assert probs.shape == (20, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
    # --data FILE: evaluate on a whole file of raw inputs and labels
    np.savez(tmp_path / "extra.npz", x=x, y=raw.targets[:20])
    r = cli("eval", run, "--data", tmp_path / "extra.npz", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["split"] == "all" and rep["samples"] == 20
    assert rep["accuracy"] == pytest.approx((pred == raw.targets[:20]).mean())
    # wrong input shape: a clear message, exit 3
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    r = cli("infer", tmp_path / "bad.npy", "--checkpoint", run)
    assert r.exit_code == 3 and "expects samples of shape [1, 8, 8]" in r.output


REGRESSION = """\
name: reg
seed: 0
device: cpu
data: {{dataset: regression, n_samples: 300, n_features: 3, val_split: 0.2, test_split: 0.2,
       batch_size: 32, normalize: standard}}
model: {{type: mlp, hidden: [16]}}
loss: {{type: MSELoss}}
optimizer: {{type: Adam, lr: 0.01}}
trainer: {{epochs: 5}}
metrics: [mse, r2]
output: {{root: {root}}}
"""


def test_regression_train_eval_infer(tmp_path):
    cfg = tmp_path / "reg.yaml"
    cfg.write_text(REGRESSION.format(root=tmp_path / "runs"))
    assert cli("train", cfg).exit_code == 0
    run = tmp_path / "runs" / "reg"
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,step,time_s,lr,train/loss,train/mse,train/r2,val/loss,val/mse,val/r2"
    r = cli("eval", run, "--json")
    rep = json.loads(r.output)
    assert r.exit_code == 0 and rep["task"] == "regression" and rep["samples"] == 60
    assert rep["rmse"] == pytest.approx(rep["mse"] ** 0.5)
    assert rep["loss"] == pytest.approx(rep["mse"], rel=1e-5)  # MSELoss over the split
    assert rep["r2"] > 0.5
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--output", tmp_path / "y.csv")
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "y.csv").read_text().splitlines()
    assert lines[0] == "index,value_0" and len(lines) == 5


def test_validate_summary_schema(tmp_path):
    cfg = write_cfg(tmp_path)
    r = cli("validate", cfg)
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "[64]" in r.output and "[8, 10]" in r.output
    r = cli("summary", cfg)
    assert r.exit_code == 0 and "Linear" in r.output
    assert "2,410" in r.output  # 64*32+32 + 32*10+10
    r = cli("config", "schema")
    schema = json.loads(r.output)
    assert "properties" in schema and "trainer" in schema["properties"]


def test_same_seed_runs_are_bit_identical(tmp_path):
    cfg = write_cfg(tmp_path, epochs=2)
    assert cli("train", cfg, "--name", "a").exit_code == 0
    assert cli("train", cfg, "--name", "b").exit_code == 0
    wa = weights(tmp_path / "runs" / "a" / "weights" / "last.safetensors")
    wb = weights(tmp_path / "runs" / "b" / "weights" / "last.safetensors")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_resume_matches_uninterrupted_run(tmp_path):
    cfg = write_cfg(tmp_path, epochs=4)
    assert cli("train", cfg, "--name", "full").exit_code == 0
    assert cli("train", cfg, "--name", "part", "--epochs", "2").exit_code == 0
    # a config file next to --resume is refused: the run's own config.yaml is the one used
    r = cli("train", cfg, "--resume", tmp_path / "runs" / "part")
    assert r.exit_code == 2 and "not a config file" in r.output
    r = cli("train", "--resume", tmp_path / "runs" / "part", "trainer.epochs=4")
    assert r.exit_code == 0, r.output
    full = weights(tmp_path / "runs" / "full" / "weights" / "last.safetensors")
    part = weights(tmp_path / "runs" / "part" / "weights" / "last.safetensors")
    assert all(np.array_equal(full[k], part[k]) for k in full)
    rows = (tmp_path / "runs" / "part" / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [1, 2, 3, 4]


def test_failed_builds_leave_no_run_folder(tmp_path):
    cfg = write_cfg(tmp_path)
    # a Linear that does not fit the data: a config error naming the model, exit 2
    r = cli("train", cfg, "model.layers.0.out_features=256")
    assert r.exit_code == 2, r.output
    assert "model: the model does not accept the data" in r.output
    r = cli("validate", cfg, "model.layers.0.out_features=256")
    assert r.exit_code == 2 and "model:" in r.output
    r = cli("train", cfg, "optimizer.lrr=0.1")
    assert r.exit_code == 2 and "did you mean 'lr'" in r.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_resume_with_a_model_changing_override_is_refused(tmp_path):
    cfg = write_cfg(tmp_path, epochs=1)
    assert cli("train", cfg).exit_code == 0
    r = cli("train", "--resume", tmp_path / "runs" / "tiny", "trainer.epochs=2",
            "model.layers.0.out_features=16", "model.layers.3.in_features=16")
    assert r.exit_code == 2
    assert "model.layers.0.out_features: cannot change on --resume" in r.output


def test_run_folder_names_do_not_collide(tmp_path):
    cfg = write_cfg(tmp_path, epochs=1)
    assert cli("train", cfg).exit_code == 0
    assert cli("train", cfg).exit_code == 0
    assert (tmp_path / "runs" / "tiny-2" / "weights" / "best.safetensors").is_file()


@pytest.mark.parametrize("content, fragment", [
    (b"", "too short"),
    (b"\x80\x04\x95", "pickle"),
    (b"PK\x03\x04rest-of-a-zip", "pickle"),
    (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", "corrupted header"),
    (b"\xff\xff\xff\x00\x00\x00\x00\x00{}", "header size"),
])
def test_bad_checkpoints_exit_3(tmp_path, content, fragment):
    p = tmp_path / "w.safetensors"
    p.write_bytes(content)
    r = cli("eval", p)
    assert r.exit_code == 3
    assert fragment in r.output
    assert "Traceback" not in r.output


def test_truncated_checkpoint_exit_3(tmp_path):
    cfg = write_cfg(tmp_path, epochs=1)
    assert cli("train", cfg).exit_code == 0
    best = tmp_path / "runs" / "tiny" / "weights" / "best.safetensors"
    data = best.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) - 100])
    r = cli("eval", cut)
    assert r.exit_code == 3 and "truncated" in r.output
    real_pickle = tmp_path / "model.pt"
    real_pickle.write_bytes(pickle.dumps({"w": [1, 2, 3]}))
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", real_pickle)
    assert r.exit_code == 3


def test_bad_config_exit_2_without_traceback(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(TINY.format(epochs=2, root=tmp_path).replace("AdamW", "AdamX"))
    r = cli("train", p)
    assert r.exit_code == 2
    assert "bad.yaml:18: optimizer.type: unknown optimizer 'AdamX'; did you mean 'Adam'?" \
        in r.output
    assert "Traceback" not in r.output
    r = cli("train", write_cfg(tmp_path), "optimizer.lrr=0.1")
    assert r.exit_code == 2 and "lrr" in r.output and "lr" in r.output
    r = cli("train", write_cfg(tmp_path), "trainer.epochs=-1")
    assert r.exit_code == 2
    r = cli("train", tmp_path / "missing.yaml")
    assert r.exit_code == 2
    r = cli("eval", write_cfg(tmp_path), "--split", "holdout")
    assert r.exit_code == 2


def test_divergence_exit_4_keeps_finite_weights(tmp_path):
    cfg = write_cfg(tmp_path, epochs=3)
    r = cli("train", cfg, "optimizer={type: SGD, lr: 1e12}", "scheduler=null")
    assert r.exit_code == 4, r.output
    assert "epoch 1" in r.output and "lr" in r.output
    for name in ("best.safetensors", "last.safetensors"):
        p = tmp_path / "runs" / "tiny" / "weights" / name
        if p.exists():
            assert all(np.isfinite(v).all() for v in weights(p).values())


@pytest.mark.slow
def test_sigint_saves_last_and_exits_130(tmp_path):
    cfg = write_cfg(tmp_path, epochs=400)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "torchlite_cli", "train", str(cfg), "--plain"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    # Ctrl-C once epoch 2 is reported, however long a loaded machine takes to get there (the
    # lines end only when the run does: 400 epochs)
    seen = ""
    for line in proc.stderr:
        seen += line
        if line.startswith("epoch 2"):
            break
    else:
        pytest.fail(f"the run ended before epoch 2: {seen}")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    last = tmp_path / "runs" / "tiny" / "weights" / "last.safetensors"
    assert all(np.isfinite(v).all() for v in weights(last).values())
    assert json.loads((tmp_path / "runs" / "tiny" / "summary.json").read_text())["status"] \
        == "interrupted"


def test_a_library_warning_is_one_line_without_pythons_source_line(tmp_path, monkeypatch):
    import warnings

    from torchlite.training import api

    def validate(config, overrides):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return {"input_shape": [64], "output_shape": [1, 10], "parameters": 0, "loss": 0.0,
                "train": 1, "val": 0, "test": 0}

    monkeypatch.setattr(api, "validate", validate)
    r = runner.invoke(app, ["validate", str(tmp_path / "c.yaml")])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if "zero-element" in ln]
    assert lines == ["warning: Initializing zero-element tensors is a no-op"]
    assert "UserWarning" not in r.output and "warnings.warn" not in r.output
