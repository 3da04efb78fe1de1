"""kill -9 at any moment of `torchlite train` (saves included) never leaves a checkpoint that does
not load: each weights file is either the previous whole file or the new whole file, because
every file is replaced atomically. A killed run can then be resumed, or rerun with --exist-ok.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _tiny_runs import TINY_DIGITS

import torchlite

KILLS = 6


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("kill")
    path = tmp / "kill.yaml"
    # many small epochs: every epoch writes last (and often best) and the training state
    path.write_text(TINY_DIGITS.format(name="kill", root=tmp / "runs")
                    .replace("batch_size: 128", "batch_size: 512")
                    .replace("trainer: {epochs: 1}",
                             "trainer: {epochs: 400, early_stopping: null}"))
    return path


def _train(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "torchlite_cli", "train", *args, "--plain"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_first_epoch(run: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not (run / "weights" / "last.safetensors").exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "training never saved an epoch"
        time.sleep(0.01)


def _every_file_loads(run: Path) -> list[str]:
    weights = sorted((run / "weights").glob("*.safetensors"))
    for path in weights:
        torchlite.load(path)  # raises on a torn file
    return [p.name for p in weights]


def test_kill_9_during_training_leaves_loadable_checkpoints(config):
    run = config.parent / "runs" / "kill"
    rng = random.Random(0)
    proc = _train(str(config))
    _wait_for_first_epoch(run, proc)
    for i in range(KILLS):
        time.sleep(rng.uniform(0.0, 0.25))  # somewhere in an epoch or a save
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert "last.safetensors" in _every_file_loads(run), f"kill {i + 1}"
        # the killed run continues from its last saved state
        proc = _train("--resume", str(run))
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _every_file_loads(run)
    rerun = _train(str(config), "--exist-ok", "trainer.epochs=1")
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read()
    assert not list((run / "weights").glob(".*.tmp")), "a killed save's temporary file was kept"
    assert _every_file_loads(run)
