"""`torchlite train` on 2 ranks end to end: the same weights as one process with the global
batch, resume on 2 ranks exactly as an uninterrupted run, another rank count refused, Ctrl-C
saving `last` once (exit 130), and the missing-MPI message."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _mpi_job import mpirun, require_mpi

import torchlite

CONFIG = """
name: {name}
seed: 0
device: cpu
data: {{dataset: digits, val_split: 0.1, test_split: 0.2, batch_size: {batch},
        normalize: standard, input_shape: [64]}}
model:
  type: sequential
  layers:
    - {{type: Linear, in_features: 64, out_features: 32}}
    - {{type: BatchNorm1d, num_features: 32}}
    - {{type: ReLU}}
    - {{type: Linear, in_features: 32, out_features: 10}}
loss: {{type: CrossEntropyLoss}}
# SGD: AdamW turns the rounding noise of the always-zero pixels' gradients into full steps
optimizer: {{type: SGD, lr: 0.05, momentum: 0.9}}
trainer: {{epochs: {epochs}}}
metrics: [accuracy]
output: {{root: {root}, plots: false}}
"""

CLI = [sys.executable, "-m", "torchlite_cli"]


def _config(tmp_path, name, batch, epochs=2):
    path = tmp_path / f"{name}.yaml"
    path.write_text(CONFIG.format(name=name, batch=batch, epochs=epochs, root=tmp_path / "runs"))
    return str(path)


def _run(args, cwd, **kw):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          **kw)


def _weights(run):
    return torchlite.load(str(run / "weights" / "last.safetensors"))


def _metrics(run):
    lines = (run / "metrics.csv").read_text().splitlines()
    head = lines[0].split(",")
    return [dict(zip(head, row.split(","))) for row in lines[1:]]


def test_two_ranks_by_hand_match_one_process_with_the_global_batch(tmp_path):
    require_mpi()
    done = mpirun([*CLI, "train", _config(tmp_path, "two", 32), "--plain"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 ranks (mpi) | batch 32 per rank, global batch 64" in done.stderr
    assert done.stderr.count("torchlite: training in") == 1  # rank 0 alone reports
    one = _run(["train", _config(tmp_path, "one", 64), "--plain"], tmp_path)
    assert one.returncode == 0, one.stderr
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["one", "two"]
    a, b = _weights(runs / "two"), _weights(runs / "one")
    for k in b:
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    for ra, rb in zip(_metrics(runs / "two"), _metrics(runs / "one")):
        for key in ("train/loss", "train/accuracy", "val/loss"):
            assert float(ra[key]) == pytest.approx(float(rb[key]), rel=1e-5), key
    summary = json.loads((runs / "two" / "summary.json").read_text())
    assert summary["distributed"] == {"backend": "mpi", "world_size": 2,
                                      "batch_size_per_rank": 32, "global_batch_size": 64}
    assert "global batch 64" in (runs / "two" / "train.log").read_text()


def test_resume_on_two_ranks_is_exact_and_another_rank_count_is_refused(tmp_path):
    require_mpi()
    full = _run(["train", _config(tmp_path, "full", 32, epochs=3), "--nproc", "2"], tmp_path)
    assert full.returncode == 0, full.stderr
    part = _run(["train", _config(tmp_path, "part", 32, epochs=1), "--nproc", "2"], tmp_path)
    assert part.returncode == 0, part.stderr
    runs = tmp_path / "runs"
    alone = _run(["train", "--resume", str(runs / "part"), "trainer.epochs=3"], tmp_path)
    assert alone.returncode == 2
    assert "trained on 2 rank(s)" in alone.stderr and "--nproc 2" in alone.stderr
    more = _run(["train", "--resume", str(runs / "part"), "trainer.epochs=3", "--nproc", "2"],
                tmp_path)
    assert more.returncode == 0, more.stderr
    a, b = _weights(runs / "part"), _weights(runs / "full")
    for k in b:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)


def test_ctrl_c_saves_last_once_and_exits_130(tmp_path):
    require_mpi()
    proc = subprocess.Popen([*CLI, "train", _config(tmp_path, "long", 32, epochs=100000),
                             "--nproc", "2", "--plain"], cwd=tmp_path, stderr=subprocess.PIPE,
                            text=True)
    # Ctrl-C once epoch 2 is reported, however long a loaded machine takes to get there
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("epoch 2:"):
            break
    else:
        pytest.fail("the run ended before epoch 2: " + "".join(seen))
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, "".join(seen) + rest
    assert rest.count("interrupted (SIGINT); the last weights and training state were saved") \
        == 1
    run = tmp_path / "runs" / "long"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_completed"] >= 2
    assert (run / "weights" / "last.safetensors").is_file()
    assert (run / "weights" / "last_state.safetensors").is_file()


def test_missing_mpi_is_one_line_naming_the_extra_exit_2(tmp_path, monkeypatch):
    from torchlite_cli.main import app
    from typer.testing import CliRunner

    from torchlite.distributed import launcher

    monkeypatch.setattr(launcher, "mpi_installed", lambda: False)
    for key in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(app, ["train", _config(tmp_path, "x", 8), "--nproc", "2"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'torchlite[mpi]'" in lines[0]


FAILING_MODEL = '''
import os
import signal

import torchlite.nn as nn


class FailsOnRank1(nn.Module):
    """A small MLP whose forward on rank 1 fails in the third epoch (20 steps per epoch)."""

    def __init__(self, how: str = "raise"):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
        self.how, self.calls = how, 0

    def forward(self, x):
        if self.training and os.environ.get("OMPI_COMM_WORLD_RANK") == "1":
            self.calls += 1
            if self.calls == 45:
                if self.how == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError("boom on rank 1")
        return self.net(x)
'''


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_run_and_last_survives(tmp_path, how):
    require_mpi()
    (tmp_path / "failing.py").write_text(FAILING_MODEL)
    text = CONFIG.format(name="f", batch=32, epochs=50, root=tmp_path / "runs")
    start = text.index("model:")
    end = text.index("loss:")
    text = (text[:start] + "model: {type: custom, target: failing.py:FailsOnRank1, "
            f"args: {{how: {how}}}}}\n" + text[end:])
    (tmp_path / "f.yaml").write_text(text)
    t0 = time.monotonic()
    done = _run(["train", "f.yaml", "--nproc", "2", "--plain"], tmp_path)
    assert time.monotonic() - t0 < 120
    assert done.returncode != 0
    if how == "raise":
        assert "rank 1: " in done.stderr and "boom on rank 1" in done.stderr
    else:
        assert "rank 1" in done.stderr
    last = tmp_path / "runs" / "f" / "weights" / "last.safetensors"
    state = torchlite.load(str(last))  # whole: the epoch before the failure
    assert set(state) == {"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"}
