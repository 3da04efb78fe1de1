"""Run folders, atomic writes, metrics.csv, finding runs and checkpoints."""

import csv
import json
import multiprocessing
import os

import pytest

from torchlite.errors import DataError
from torchlite.training import runs
from torchlite.training.loader import load_yaml


def test_create_run_dir_numbers_taken_names(tmp_path):
    a = runs.create_run_dir(tmp_path / "runs", "exp")
    b = runs.create_run_dir(tmp_path / "runs", "exp")
    c = runs.create_run_dir(tmp_path / "runs", "exp")
    assert [p.root.name for p in (a, b, c)] == ["exp", "exp-2", "exp-3"]
    assert a.weights.is_dir() and a.best == a.root / "weights" / "best.safetensors"
    again = runs.create_run_dir(tmp_path / "runs", "exp", exist_ok=True)
    assert again.root == a.root
    assert (
        a.state.name == "last_state.safetensors"
        and a.epoch_weights(4).name == "epoch_4.safetensors"
    )


def _claim_run(root, barrier, out):
    barrier.wait()  # all processes ask for the name at the same instant
    out.put(runs.create_run_dir(root, "exp").root.name)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_concurrent_processes_asking_for_one_name_get_folders_of_their_own(tmp_path):
    ctx = multiprocessing.get_context("fork")
    n = 6
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_claim_run, args=(tmp_path, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    names = [out.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(60)
    assert sorted(names) == sorted(["exp", *(f"exp-{i}" for i in range(2, n + 1))])
    assert not any((tmp_path / name / ".lock").exists() for name in names)


@pytest.mark.parametrize("name", ["", "../x", "a/b", "with space", ".hidden"])
def test_create_run_dir_refuses_bad_names(tmp_path, name):
    with pytest.raises(ValueError, match="not a folder name"):
        runs.create_run_dir(tmp_path, name)


def test_atomic_writes_leave_no_temp_files(tmp_path):
    p = tmp_path / "sub" / "f.txt"
    runs.atomic_write_text(p, "one")
    runs.atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert os.listdir(p.parent) == ["f.txt"]


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    p = tmp_path / "summary.json"
    runs.atomic_write_json(p, {"v": 1})

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)  # the one writer, in torchlite.serialization
    with pytest.raises(OSError, match="disk full"):
        runs.atomic_write_json(p, {"v": 2})
    assert json.loads(p.read_text()) == {"v": 1}
    assert os.listdir(tmp_path) == ["summary.json"]


def test_json_is_strict(tmp_path):
    import numpy as np

    p = runs.atomic_write_json(
        tmp_path / "s.json",
        {
            "loss": float("nan"),
            "best": float("inf"),
            "arr": np.arange(3),
            "x": np.float32(0.5),
            "path": tmp_path,
            "t": (1, 2),
        },
    )
    data = json.loads(p.read_text())
    assert data == {
        "loss": None,
        "best": None,
        "arr": [0, 1, 2],
        "x": 0.5,
        "path": str(tmp_path),
        "t": [1, 2],
    }


def test_metrics_header():
    assert runs.metrics_header(["accuracy"], has_val=True) == [
        "epoch",
        "step",
        "time_s",
        "lr",
        "train/loss",
        "train/accuracy",
        "val/loss",
        "val/accuracy",
    ]
    assert runs.metrics_header([], has_val=False) == ["epoch", "step", "time_s", "lr", "train/loss"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_metrics_csv_appends_rows(tmp_path):
    header = runs.metrics_header(["accuracy"])
    m = runs.MetricsCSV(tmp_path / "metrics.csv", header)
    m.append(
        {
            "epoch": 1,
            "step": 10,
            "time_s": 1.25,
            "lr": 1e-3,
            "train/loss": 0.5,
            "train/accuracy": 0.8,
            "val/loss": 0.6,
            "val/accuracy": 0.75,
        }
    )
    m.append({"epoch": 2, "step": 20, "time_s": 2.5, "lr": 5e-4, "train/loss": float("nan")})
    rows = read_csv(tmp_path / "metrics.csv")
    assert rows[0] == header
    assert rows[1] == ["1", "10", "1.25", "0.001", "0.5", "0.8", "0.6", "0.75"]
    assert rows[2][:5] == ["2", "20", "2.5", "0.0005", "nan"] and rows[2][5:] == ["", "", ""]
    with pytest.raises(KeyError, match="not in the metrics.csv header"):
        m.append({"epoch": 3, "val/f1": 1.0})


def test_metrics_csv_resume_keeps_earlier_epochs(tmp_path):
    header = runs.metrics_header([])
    p = tmp_path / "metrics.csv"
    m = runs.MetricsCSV(p, header)
    for e in range(1, 5):
        m.append({"epoch": e, "train/loss": 1.0 / e})
    resumed = runs.MetricsCSV(p, header, resume_epoch=2)
    resumed.append({"epoch": 3, "train/loss": 0.3})
    assert [r[0] for r in read_csv(p)[1:]] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="has columns"):
        runs.MetricsCSV(p, runs.metrics_header(["accuracy"]), resume_epoch=1)
    fresh = runs.MetricsCSV(p, header)  # not resuming: starts over
    fresh.append({"epoch": 1})
    assert len(read_csv(p)) == 2


@pytest.mark.parametrize("content, reason", [
    (b"\xff\xfe garbage\n", "not UTF-8 text"),
    (",".join(runs.metrics_header([])).encode() + b"\nthree,1,,,\n", "ValueError"),
    (b'epoch,"step\n', "Error"),
])
def test_a_garbage_metrics_csv_on_resume_is_named(tmp_path, content, reason):
    p = tmp_path / "metrics.csv"
    p.write_bytes(content)
    with pytest.raises(DataError, match=f"^{p}: not a readable metrics.csv .*{reason}"):
        runs.MetricsCSV(p, runs.metrics_header([]), resume_epoch=1)


def test_append_log(tmp_path):
    p = tmp_path / "train.log"
    runs.append_log(p, "epoch 1\nepoch 2", timestamp=False)
    runs.append_log(p, "done")
    lines = p.read_text().splitlines()
    assert lines[:2] == ["epoch 1", "epoch 2"] and lines[2].endswith(" done")
    assert len(lines[2]) > len(" done") + 10


def test_write_config_round_trips(tmp_path):
    paths = runs.create_run_dir(tmp_path, "r")
    cfg = {
        "name": "r",
        "optimizer": {"type": "AdamW", "lr": 1e-3},
        "metrics": ["accuracy"],
        "note": "1e3",
    }
    runs.write_config(paths, cfg)
    assert load_yaml(paths.config.read_text())[0] == cfg
    runs.write_summary(paths, {"status": "completed", "best": {"epoch": 3}})
    assert json.loads(paths.summary.read_text())["status"] == "completed"


def make_run(root, name, weights=("best", "last"), mtime=None):
    paths = runs.create_run_dir(root, name, exist_ok=True)
    for w in weights:
        f = paths.weights / f"{w}.safetensors"
        f.write_bytes(b"x")
        if mtime is not None:
            os.utime(f, ns=(mtime, mtime))
    return paths


def test_latest_run(tmp_path):
    root = tmp_path / "runs"
    assert runs.latest_run(root) is None
    make_run(root, "old", mtime=1_000_000_000)
    make_run(root, "new", mtime=2_000_000_000)
    make_run(root, "newest_but_no_best", weights=("last",), mtime=3_000_000_000)
    (root / "infer").mkdir()
    assert runs.latest_run(root) == root / "new"


def test_resolve_checkpoint(tmp_path):
    root = tmp_path / "runs"
    run = make_run(root, "a")
    only_last = make_run(root, "b", weights=("last",))
    assert runs.resolve_checkpoint(run.root) == run.best
    assert runs.resolve_checkpoint(run.weights) == run.best
    assert runs.resolve_checkpoint(run.root, prefer="last") == run.last
    assert runs.resolve_checkpoint(only_last.root) == only_last.last
    assert runs.resolve_checkpoint(str(run.last)) == run.last
    assert runs.resolve_checkpoint(None, root=root) in (run.best,)
    assert runs.run_dir_of(run.best) == run.root
    assert runs.run_dir_of(tmp_path / "loose.safetensors") == tmp_path


def test_resolve_checkpoint_errors(tmp_path):
    with pytest.raises(runs.CheckpointNotFoundError, match="train one first"):
        runs.resolve_checkpoint(None, root=tmp_path / "runs")
    empty = runs.create_run_dir(tmp_path, "empty")
    with pytest.raises(runs.CheckpointNotFoundError, match="holds no checkpoint"):
        runs.resolve_checkpoint(empty.root)
    with pytest.raises(runs.CheckpointNotFoundError, match="no such checkpoint"):
        runs.resolve_checkpoint(tmp_path / "nope.safetensors")
    assert issubclass(runs.CheckpointNotFoundError, FileNotFoundError)
