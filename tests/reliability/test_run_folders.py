"""Run folders under hostile conditions, through the CLI: symbolic links planted where a run
deletes, replaces or appends (refused, exit 2, the link's target untouched); a save killed by
SIGKILL (its temporary file removed when the run is reopened); two processes at once, asking
for the same name (two folders) or the same folder (the second refused, naming the first); a
read-only folder and a full disk (exit 1, the previous checkpoint whole and loadable).

Processes that must really run side by side, be killed or be limited by the OS run
`python -m torchlite_cli` as subprocesses; the rest run the CLI in this process.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _tiny_runs import TINY_DIGITS
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite
from torchlite.training import api

runner = CliRunner()
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX links, signals and limits")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def spawn(*args, cwd: Path, **kw) -> subprocess.Popen:
    """`torchlite ARGS` in a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "torchlite_cli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def error_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, output
    assert "internal error" not in lines[0] and "Traceback" not in output
    return lines[0]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: the evidence that nothing there changed."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def config(tmp: Path, name: str = "exp") -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(TINY_DIGITS.format(name=name, root=tmp / "runs"))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One finished run (one epoch), copied by `run` for each test."""
    tmp = tmp_path_factory.mktemp("trained")
    api.train(config(tmp))
    return tmp / "runs" / "exp"


@pytest.fixture
def run(trained, tmp_path) -> Path:
    """tmp_path/runs/exp: a finished run, tmp_path/exp.yaml: its config (for --exist-ok)."""
    config(tmp_path)
    return Path(shutil.copytree(trained, tmp_path / "runs" / "exp"))


@pytest.fixture
def other(trained, tmp_path) -> Path:
    """Another run's folder, outside the runs/ of the test: what a link points to."""
    return Path(shutil.copytree(trained, tmp_path / "other"))


def loads(checkpoint: Path) -> bool:
    return bool(torchlite.load(checkpoint))


def lines_starting(log: Path, *words: str) -> int:
    """How many lines of train.log are a run's start (or resume) or end line."""
    return sum(ln.split(" ", 2)[2].split(":")[0] in words for ln in log.read_text().splitlines())


# -- symbolic links -------------------------------------------------------------------------------
@posix_only
@pytest.mark.parametrize("command, link", [
    ("exist_ok", ""), ("exist_ok", "weights"), ("exist_ok", "train.log"),
    ("exist_ok", "metrics.csv"), ("resume", ""), ("resume", "weights"), ("resume", "train.log"),
    ("resume", "metrics.csv"),
])
def test_a_link_in_a_run_folder_is_refused_and_its_target_untouched(run, other, tmp_path,
                                                                    command, link):
    at = run / link if link else run
    shutil.rmtree(at) if at.is_dir() else at.unlink()
    at.symlink_to(other / link if link else other)
    before = tree(other)
    if command == "exist_ok":
        r = cli("train", tmp_path / "exp.yaml", "--exist-ok", "--plain")
    else:
        r = cli("train", "--resume", at if not link else run, "trainer.epochs=2", "--plain")
    assert r.exit_code == 2, r.output
    line = error_line(r.stderr)
    assert f"{at} is a symbolic link (to {other / link if link else other})" in line
    assert tree(other) == before
    assert not (other / ".lock").exists() and at.is_symlink()
    if link:  # nothing of the run itself was deleted or appended to either
        assert (run / "summary.json").is_file() and loads(run / "weights" / "last.safetensors")


# -- a save killed midway -------------------------------------------------------------------------
KILLED_WHILE_SAVING = """\
import os, signal, sys

real_replace = os.replace


def replace(src, dst, *args, **kw):  # SIGKILL with the new checkpoint written, not renamed
    if str(dst).endswith(".safetensors"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *args, **kw)


os.replace = replace
from torchlite_cli.main import app

app(["train", "--resume", sys.argv[1], "trainer.epochs=2", "--plain"], prog_name="torchlite")
"""


@posix_only
@pytest.mark.parametrize("rerun", ["resume", "exist_ok"])
def test_the_temporary_file_of_a_killed_save_is_removed_on_reopening(run, tmp_path, rerun):
    weights = run / "weights"
    before = tree(weights)
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_SAVING, str(run)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    temps = [p.name for p in weights.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and temps[0].startswith((".best.safetensors.", ".last.safetensors."))
    assert tree(weights).items() >= before.items()  # the checkpoints it was replacing are whole
    if rerun == "resume":
        r = cli("train", "--resume", run, "trainer.epochs=2", "--plain")
    else:
        r = cli("train", tmp_path / "exp.yaml", "--exist-ok", "--plain")
    assert r.exit_code == 0, r.output
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp") or p.name == ".lock"]
    assert loads(weights / "best.safetensors") and loads(weights / "last.safetensors")


# -- two processes at once ------------------------------------------------------------------------
def test_two_runs_asking_for_one_name_get_two_folders(tmp_path):
    cfg = config(tmp_path, "twin")
    procs = [spawn("train", cfg, "--plain", cwd=tmp_path) for _ in range(2)]
    results = [finish(p) for p in procs]
    assert [code for code, _ in results] == [0, 0], results
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == ["twin", "twin-2"]
    inodes = set()
    for name in folders:
        folder = tmp_path / "runs" / name
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["run_dir"] == str(folder) and summary["status"] == "completed"
        log = folder / "train.log"
        assert lines_starting(log, "start") == 1 and lines_starting(log, "end") == 1
        assert f"run {folder}," in log.read_text()
        assert loads(folder / "weights" / "best.safetensors")
        inodes |= {os.stat(p).st_ino for p in folder.rglob("*") if p.is_file()}
    assert len(inodes) == sum(1 for p in (tmp_path / "runs").rglob("*") if p.is_file())


def wait_for_holder(proc: subprocess.Popen, run: Path, timeout: float = 60) -> None:
    """Until `proc` holds the run's lock (its pid in the lock file) and trains (epoch 2 is in
    train.log: its SIGTERM handler is in place); fails if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, finish(proc)
        try:
            holder = json.loads((run / ".lock").read_text())["pid"]
            if holder == proc.pid and "epoch 2:" in (run / "train.log").read_text():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    pytest.fail(f"{run} never held by process {proc.pid}")


@posix_only
@pytest.mark.parametrize("command", ["exist_ok", "resume"])
def test_a_second_process_on_a_run_in_use_is_refused_naming_the_first(run, tmp_path, command):
    # early stopping is on by default: a patience the run never reaches keeps it training
    def args(epochs):
        keep = "trainer.early_stopping.patience=100000"
        if command == "exist_ok":
            return ["train", tmp_path / "exp.yaml", "--exist-ok", f"trainer.epochs={epochs}", keep]
        return ["train", "--resume", run, f"trainer.epochs={epochs}", keep]

    first = spawn(*args(10_000), "--plain", cwd=tmp_path)  # runs until stopped below
    try:
        wait_for_holder(first, run)
        second = subprocess.run([sys.executable, "-m", "torchlite_cli", *map(str, args(2))],
                                cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        line = error_line(second.stderr)
        assert f"{run} is in use by another torchlite run: process {first.pid} on " \
               f"{socket.gethostname()}" in line
        first.send_signal(signal.SIGTERM)  # saves `last`, writes its end line, exits 130
        code, output = finish(first)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert code == 130, output
    log = run / "train.log"
    earlier = 0 if command == "exist_ok" else 1  # the run being resumed: its own start and end
    assert lines_starting(log, "start", "resume") == 1 + earlier
    assert lines_starting(log, "end") == 1 + earlier
    assert not (run / ".lock").exists()
    assert loads(run / "weights" / "last.safetensors")


# -- a read-only folder, a full disk --------------------------------------------------------------
@pytest.fixture
def read_only(monkeypatch):
    """Make a folder answer writes as a read-only mount does (EROFS, even to root)."""
    def make(folder: Path) -> None:
        inside = str(folder) + os.sep
        real = {name: getattr(os, name) for name in ("open", "mkdir", "unlink", "replace",
                                                     "rmdir")}

        def refuse(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

        def guard(name):
            def call(path, *args, **kw):
                writes = name != "open" or args[0] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
                if writes and os.path.abspath(path).startswith(inside):
                    refuse(path)
                return real[name](path, *args, **kw)
            return call

        for name in real:
            monkeypatch.setattr(os, name, guard(name))
    return make


@pytest.mark.parametrize("command", ["resume", "exist_ok"])
def test_a_read_only_run_folder_fails_cleanly_and_keeps_its_checkpoints(run, tmp_path, read_only,
                                                                       command):
    before = tree(run)
    read_only(run)
    if command == "resume":
        r = cli("train", "--resume", run, "trainer.epochs=2", "--plain")
    else:
        r = cli("train", tmp_path / "exp.yaml", "--exist-ok", "--plain")
    assert r.exit_code == 1, r.output
    assert error_line(r.stderr).startswith(f"error: cannot write {run}: Read-only file system")
    assert tree(run) == before
    assert loads(run / "weights" / "best.safetensors")


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="POSIX; root writes into 0555 folders anyway")
def test_a_run_folder_without_write_permission_fails_cleanly(run):
    before = tree(run)
    for folder in (run, run / "weights"):
        folder.chmod(0o555)
    try:
        r = cli("train", "--resume", run, "trainer.epochs=2", "--plain")
    finally:
        for folder in (run, run / "weights"):
            folder.chmod(0o755)
    assert r.exit_code == 1, r.output
    assert error_line(r.stderr).startswith(f"error: cannot write {run}: Permission denied")
    assert tree(run) == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits (POSIX)")
def test_a_full_disk_fails_cleanly_and_keeps_the_previous_checkpoint(run, tmp_path):
    import resource

    def small_files():  # every file capped at 4 KiB: the 9 KiB checkpoint cannot be written
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write(), not a core dump

    weights = run / "weights"
    before = tree(weights)
    full = subprocess.run(
        [sys.executable, "-m", "torchlite_cli", "train", "--resume", str(run),
         "trainer.epochs=2", "--plain"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=small_files)
    assert full.returncode == 1, full.stderr
    line = error_line(full.stderr)
    assert line.startswith(f"error: cannot write {weights}") and "File too large" in line
    assert tree(weights) == before  # nothing half-written, no temporary file left
    assert loads(weights / "best.safetensors") and loads(weights / "last.safetensors")
    assert not (run / ".lock").exists()
    r = cli("train", "--resume", run, "trainer.epochs=2", "--plain")  # with room again
    assert r.exit_code == 0, r.output
