"""The CLI and the files around it: --exist-ok starting afresh, strict JSON output, filesystem
errors as one line naming the path (exit 1 for failed writes, 3 for unreadable inputs), and what
Ctrl-C says outside training."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import digits_config
from torchlite_cli import display
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite.training import api

runner = CliRunner()

def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def config(tmp_path: Path, epochs: int = 1) -> Path:
    return digits_config(tmp_path, "tiny", epochs=epochs, data=", normalize: standard",
                         trainer=", checkpoint: {monitor: val/accuracy, mode: max}")


@pytest.fixture
def run(tmp_path) -> Path:
    """A trained run folder."""
    r = cli("train", config(tmp_path), "--plain")
    assert r.exit_code == 0, r.output
    return tmp_path / "runs" / "tiny"


def _one_error_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, r.output
    assert "internal error" not in lines[0] and "Traceback" not in r.output
    return lines[0]


# -- --exist-ok ----------------------------------------------------------------------------------
def test_exist_ok_does_not_keep_the_previous_runs_files(tmp_path):
    cfg = config(tmp_path, epochs=2)
    assert cli("train", cfg, "--plain", "trainer.checkpoint.save_every=1").exit_code == 0
    folder = tmp_path / "runs" / "tiny"
    assert cli("eval", folder).exit_code == 0 and (folder / "eval" / "report.json").is_file()
    (folder / "notes.txt").write_text("mine")
    # another architecture that diverges in its first epoch: it saves no checkpoint at all
    r = cli("train", cfg, "--plain", "--exist-ok", "model.layers.0.out_features=8",
            "model.layers.2.in_features=8", "optimizer={type: SGD, lr: 1e30}")
    assert r.exit_code == 4, r.output
    assert sorted(p.name for p in (folder / "weights").iterdir()) == []
    assert not (folder / "eval").exists() and (folder / "notes.txt").read_text() == "mine"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["final_weights"] is None and summary["best"] is None
    assert not (folder / "metrics.csv").exists()  # no epoch finished
    assert "out_features: 8" in (folder / "config.yaml").read_text()
    assert (folder / "train.log").read_text().count("start:") == 1
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", folder)  # nothing stale to use
    assert r.exit_code == 3


# -- strict JSON ----------------------------------------------------------------------------------
def test_eval_json_writes_null_for_nan(run, tmp_path):
    data = tmp_path / "huge.npz"  # finite inputs whose logits overflow: the loss is NaN
    np.savez(data, x=np.full((5, 64), 3e38, np.float32), y=np.arange(5))
    r = cli("eval", run, "--data", data, "--json")
    assert r.exit_code == 0, r.output

    def refuse(name):
        raise AssertionError(f"bare {name} in JSON output")

    assert json.loads(r.stdout, parse_constant=refuse)["loss"] is None


def test_print_json_is_strict(capsys):
    display.print_json({"a": float("nan"), "b": [float("inf"), 1.0], "c": np.float32("-inf")})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [None, 1.0], "c": None}


# -- failed writes: exit 1, "cannot write PATH: REASON" ----------------------------------------
@pytest.mark.parametrize("root", ["afile", "afile/sub"])
def test_output_root_under_a_file(tmp_path, root):
    (tmp_path / "afile").write_text("")
    r = cli("train", config(tmp_path), "--plain", f"output.root={tmp_path / root}")
    assert r.exit_code == 1
    assert _one_error_line(r) == (f"error: cannot write {tmp_path / root / 'tiny'}: "
                                  f"{tmp_path / 'afile'} is a file, not a folder")


def test_infer_output_under_a_file(run, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.float32))
    (tmp_path / "afile").write_text("")
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--output",
            tmp_path / "afile" / "p.csv")
    assert r.exit_code == 1
    assert f"cannot write {tmp_path / 'afile' / 'p.csv'}: {tmp_path / 'afile'} is a file" \
        in _one_error_line(r)


def test_read_only_output_root(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kw):  # what a read-only mount answers, even to root
        if Path(path).parent == ro:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_mkdir(path, *args, **kw)

    monkeypatch.setattr(os, "mkdir", mkdir)
    r = cli("train", config(tmp_path), "--plain", f"output.root={ro}")
    assert r.exit_code == 1
    assert _one_error_line(r) == f"error: cannot write {ro / 'tiny'}: Read-only file system"


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="POSIX; root writes into 0555 folders anyway")
def test_read_only_output_root_by_mode(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    try:
        r = cli("train", config(tmp_path), "--plain", f"output.root={ro}")
    finally:
        ro.chmod(0o755)
    assert r.exit_code == 1
    assert _one_error_line(r) == f"error: cannot write {ro / 'tiny'}: Permission denied"


def test_disk_full_names_the_file(tmp_path, monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    r = cli("train", config(tmp_path), "--plain")
    assert r.exit_code == 1
    config_yaml = tmp_path / "runs" / "tiny" / "config.yaml"  # the run's first file
    assert _one_error_line(r) == f"error: cannot write {config_yaml}: No space left on device"


def test_infer_output_permission_denied(run, tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.float32))
    out = tmp_path / "out"
    out.mkdir()
    real_open = os.open

    def os_open(path, flags, *args, **kw):
        if Path(path).parent == out and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", os_open)
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--output", out / "p.csv")
    assert r.exit_code == 1
    assert _one_error_line(r) == f"error: cannot write {out / 'p.csv'}: Permission denied"


# -- unreadable inputs: exit 3, "cannot read PATH: REASON" -------------------------------------
@pytest.fixture
def deny_reading(monkeypatch):
    """deny_reading(path): opening `path` raises PermissionError (as chmod 000 does, but for
    root too)."""
    denied = set()
    real_open = builtins.open

    def guarded(file, *args, **kw):
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) in denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))
        return real_open(file, *args, **kw)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)  # pathlib opens through io.open
    return lambda path: denied.add(os.path.abspath(path))


def test_unreadable_config_exit_3(tmp_path, deny_reading):
    cfg = config(tmp_path)
    deny_reading(cfg)
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 3
    assert _one_error_line(r) == f"error: cannot read {cfg}: Permission denied"


def test_unreadable_checkpoint_exit_3(run, deny_reading):
    best = run / "weights" / "best.safetensors"
    deny_reading(best)
    r = cli("eval", best)
    assert r.exit_code == 3
    assert _one_error_line(r) == f"error: cannot read {best}: Permission denied"


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="POSIX; root reads 0000 files anyway")
def test_unreadable_config_by_mode_exit_3(tmp_path):
    cfg = config(tmp_path)
    cfg.chmod(0)
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 3
    assert _one_error_line(r) == f"error: cannot read {cfg}: Permission denied"


def test_config_under_a_file_exit_3(tmp_path):
    (tmp_path / "afile").write_text("")
    r = cli("validate", tmp_path / "afile" / "c.yaml")
    assert r.exit_code == 3
    assert _one_error_line(r) == (f"error: cannot read {tmp_path / 'afile' / 'c.yaml'}: "
                                  f"{tmp_path / 'afile'} is a file, not a folder")


# -- Ctrl-C ---------------------------------------------------------------------------------------
def test_ctrl_c_in_eval_claims_nothing_was_saved(run, monkeypatch):
    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "evaluate_checkpoint", interrupted)
    r = cli("eval", run)
    assert r.exit_code == 130 and r.stderr == "error: interrupted\n"


def test_ctrl_c_before_the_run_folder_exists(tmp_path, monkeypatch):
    def interrupted(cfg, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "prepare", interrupted)
    r = cli("train", config(tmp_path), "--plain")
    assert r.exit_code == 130 and r.stderr == "error: interrupted\n"
    assert not (tmp_path / "runs" / "tiny").exists()


def test_interrupted_training_names_its_run_folder(tmp_path, monkeypatch):
    on_epoch_end = display.TrainDisplay.on_epoch_end

    def ctrl_c_after_an_epoch(self, epoch, **row):
        on_epoch_end(self, epoch, **row)
        signal.raise_signal(signal.SIGINT)  # caught by the trainer, which saves and stops

    monkeypatch.setattr(display.TrainDisplay, "on_epoch_end", ctrl_c_after_an_epoch)
    r = cli("train", config(tmp_path, epochs=5), "--plain")
    folder = tmp_path / "runs" / "tiny"
    assert r.exit_code == 130
    assert _one_error_line(r) == (
        f"error: interrupted (SIGINT); the last weights and training state were saved in "
        f"{folder}: continue with torchlite train --resume {folder}")
    assert (folder / "weights" / "last.safetensors").is_file()
