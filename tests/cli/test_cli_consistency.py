"""Small consistency fixes, through the CLI: --debug after the subcommand, paths relative to
the config's folder, SIGHUP and early Ctrl-C, a full disk, class weights and 0/1 targets for
the binary losses, early-stopping patience as Keras counts it."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def tiny(tmp_path: Path, name: str = "t") -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(TINY_DIGITS.format(name=name, root=tmp_path / "runs"))
    return p


def test_debug_is_accepted_after_the_subcommand(tmp_path):
    r = cli("validate", tmp_path / "missing.yaml", "--debug")
    assert r.exit_code == 2
    assert "Traceback" in r.output and "error: " in r.output
    r = cli("validate", tmp_path / "missing.yaml")
    assert "Traceback" not in r.output


def test_data_path_is_resolved_against_the_configs_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = "\n".join(",".join(f"{v:.4f}" for v in r) + f",{int(r[0] > 0)}" for r in x)
    (folder / "table.csv").write_text("a,b,c,label\n" + rows + "\n")
    (folder / "c.yaml").write_text(
        "data: {dataset: csv, path: table.csv, val_split: 0.2, batch_size: 16}\n"
        "model: {type: mlp, hidden: [4]}\nloss: {type: CrossEntropyLoss}\n"
        "optimizer: {type: SGD, lr: 0.1}\ntrainer: {epochs: 1}\n"
        f"output: {{root: {tmp_path / 'runs'}}}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = cli("train", folder / "c.yaml", "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    config = (tmp_path / "runs" / "c" / "config.yaml").read_text()
    assert str(folder / "table.csv") in config


def _train_until_epoch_2(cfg: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # SIGHUP's default action even when this pytest runs under nohup (which the trainer
    # respects: an ignored signal stays ignored)
    proc = subprocess.Popen([sys.executable, "-m", "torchlite_cli", "train", str(cfg), "--plain",
                             "--no-plots"], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.stderr.readline().startswith("epoch 2"):
            break
    return proc


@pytest.mark.slow
def test_sighup_saves_last_like_sigterm(tmp_path):
    cfg = _with_epochs(tiny(tmp_path), 400)
    proc = _train_until_epoch_2(cfg)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    summary = json.loads((tmp_path / "runs" / "t" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["stop_reason"] == "SIGHUP"
    assert (tmp_path / "runs" / "t" / "weights" / "last.safetensors").is_file()
    assert "Traceback" not in err


def _with_epochs(cfg: Path, epochs: int) -> Path:
    cfg.write_text(cfg.read_text().replace("trainer: {epochs: 1}",
                                           f"trainer: {{epochs: {epochs}, early_stopping: null}}"))
    return cfg


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.6, 1.2])
def test_an_early_ctrl_c_exits_130_without_a_traceback(tmp_path, delay):
    # -X importtime reports each module as its import ends: the line for torchlite_cli says the
    # CLI has started loading (before it, the interpreter's own start-up owns Ctrl-C, and a
    # fixed sleep alone would race it on a loaded machine). Each delay lands the Ctrl-C in a
    # later phase: imports, argument parsing, the run's set-up, training.
    cfg = _with_epochs(tiny(tmp_path), 200)
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "torchlite_cli", "train",
                             str(cfg), "--plain", "--no-plots"], stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.rstrip().endswith("| torchlite_cli"):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = "".join(seen) + err
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err


def test_the_quiet_start_up_handler_exits_130():
    # argv[0] as the `torchlite` script has it: the package is the program
    code = ("import sys; sys.argv[0] = 'torchlite'; import os, signal, time, torchlite_cli; "
            "os.kill(os.getpid(), signal.SIGINT); time.sleep(5)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 130 and "Traceback" not in proc.stderr


_AS_PROGRAM = "import sys; sys.argv[0] = 'torchlite'; import os, signal, time, torchlite_cli\n"


def test_a_start_up_ctrl_c_cannot_be_swallowed_by_the_code_it_lands_in():
    # what pydantic_core did to a KeyboardInterrupt raised while it built a model at import:
    # caught it and raised something else (exit 1). The start-up handler leaves no exception.
    code = _AS_PROGRAM + ("try:\n    os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\n"
                          "except BaseException:\n    pass\nprint('survived')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 130 and "survived" not in proc.stdout


def test_once_a_command_calls_the_library_ctrl_c_is_a_keyboard_interrupt_again():
    # from main._run on, the command must be able to clean up (and training to save)
    code = _AS_PROGRAM + ("torchlite_cli.ctrl_c_raises()\ntry:\n"
                          "    os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\n"
                          "except KeyboardInterrupt:\n    print('cleaned up')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "cleaned up", proc.stderr


def test_a_handled_ctrl_c_exits_130_though_it_passed_through_an_exec(tmp_path):
    # CPython remembers a KeyboardInterrupt that left an exec() of a string (dataclasses run
    # some while modules load) and, under `python -m`, ends the process by SIGINT however it
    # exited: without the CLI's exit hook this command ends with -2 on CPython 3.11. The Ctrl-C
    # lands in the library call of a real command (validate), as in a run's set-up.
    (tmp_path / "prog.py").write_text(
        "import sys; sys.argv = ['torchlite', 'validate', 'c.yaml']\n"
        "import torchlite_cli.main, torchlite.training.api as api\n"
        "def interrupted(*args):\n"
        "    exec('import os, signal, time; os.kill(os.getpid(), signal.SIGINT); time.sleep(5)')\n"
        "api.validate = interrupted\n"
        "torchlite_cli.main.app()\n")
    proc = subprocess.run([sys.executable, "-m", "prog"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "error: interrupted"


def test_importing_the_cli_leaves_ctrl_c_alone():
    code = "import signal, torchlite_cli; print(signal.getsignal(signal.SIGINT).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "default_int_handler"


def _disk_full(path):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def test_a_full_disk_leaves_summary_failed_and_a_log_line(tmp_path, monkeypatch):
    from torchlite.training import failed_run
    from torchlite.training.trainer import Trainer

    saved = Trainer.save_weights
    calls = []

    def save_weights(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) > 2:  # epoch 2: the disk is full
            _disk_full(path)
        return saved(self, path, *args, **kwargs)

    monkeypatch.setattr(Trainer, "save_weights", save_weights)
    # no room for a second copy either: summary.json is rewritten where it lies
    monkeypatch.setattr(failed_run, "write_summary", lambda paths, s: _disk_full(paths.summary))
    cfg = _with_epochs(tiny(tmp_path), 4)
    r = cli("train", cfg, "--plain", "--no-plots")
    assert r.exit_code == 1, r.output
    assert "cannot write" in r.output and "No space left on device" in r.output
    run = tmp_path / "runs" / "t"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "No space left" in summary["stop_reason"]
    assert summary["epochs_completed"] == 2
    log = (run / "train.log").read_text().splitlines()
    assert "end: failed (cannot write" in log[-1]


def test_a_full_disk_on_a_real_tmpfs(tmp_path):
    """Where this process may mount a small tmpfs (root on Linux), the disk fills for real."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mnt)],
                        capture_output=True).returncode == 0 if sys.platform == "linux" else False
    if not ok:
        pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
    try:
        (mnt / "filler").write_bytes(b"\0" * 60_000)
        cfg = _with_epochs(tiny(tmp_path), 30)
        r = cli("train", cfg, f"output.root={mnt / 'runs'}", "model.hidden=[256]", "--plain",
                "--no-plots")
        assert r.exit_code == 1, r.output
        assert "No space left on device" in r.output
        summary = json.loads((mnt / "runs" / "t" / "summary.json").read_text())
        assert summary["status"] == "failed"
        assert "end: failed" in (mnt / "runs" / "t" / "train.log").read_text()
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_early_stopping_patience_counts_as_keras(tmp_path):
    cfg = _with_epochs(tiny(tmp_path), 10)
    r = cli("train", cfg, "trainer.early_stopping={patience: 3, min_delta: 100}", "--json",
            "--no-plots")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    # epoch 1 sets the best; epochs 2, 3, 4 do not improve: stop after epoch 4
    assert s["stop_reason"] == "early_stopping" and s["epochs_completed"] == 4
    assert s["early_stopping"]["epochs_without_improvement"] == 3


def test_class_weights_balanced_and_listed(tmp_path):
    cfg = tiny(tmp_path)
    r = cli("train", cfg, "loss={type: CrossEntropyLoss, class_weights: balanced}", "--json",
            "--no-plots")
    assert r.exit_code == 0, r.output
    last = torchlite.load(json.loads(r.stdout)["last"])
    assert last  # trained; the weights used are stored with the checkpoint's preprocessing
    from torchlite.training.checkpoint import read_checkpoint_info

    weights = read_checkpoint_info(json.loads(r.stdout)["last"])["preprocess"]["class_weights"]
    assert len(weights) == 10 and all(0.5 < w < 2 for w in weights)
    assert cli("eval", tmp_path / "runs" / "t", "--no-plots").exit_code == 0
    r = cli("validate", cfg, "loss={type: CrossEntropyLoss, class_weights: [1, 2]}")
    assert r.exit_code == 2 and "2 weights for 10 classes" in r.output


BINARY = """\
name: bin
seed: 0
device: cpu
data: {{dataset: moons, n_samples: 160, val_split: 0.25, test_split: 0.25, batch_size: 32}}
model: {{type: mlp, hidden: [8], out_features: {outputs}}}
loss: {{type: BCEWithLogitsLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 2}}
metrics: [accuracy]
output: {{root: {root}}}
"""


def test_bce_with_logits_takes_integer_class_targets(tmp_path):
    cfg = tmp_path / "bin.yaml"
    cfg.write_text(BINARY.format(outputs=1, root=tmp_path / "runs"))
    r = cli("train", cfg, "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    assert 0 <= json.loads(r.stdout)["test_metrics"]["test/accuracy"] <= 1
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    out = json.loads(cli("infer", tmp_path / "x.npy", "--checkpoint", tmp_path / "runs" / "bin",
                         "--json").stdout)
    assert all(0.5 <= p["confidence"] <= 1 for p in out["predictions"])


def test_bce_with_two_outputs_says_what_to_change(tmp_path):
    cfg = tmp_path / "bin.yaml"
    cfg.write_text(BINARY.format(outputs=2, root=tmp_path / "runs"))
    r = cli("train", cfg)
    assert r.exit_code == 2
    assert "set the model's last layer to 1 output" in r.output
    r = cli("validate", cfg, "model.out_features=1",
            "loss={type: BCEWithLogitsLoss, class_weights: balanced}")
    assert r.exit_code == 2 and "takes no class weights" in r.output and "pos_weight" in r.output
