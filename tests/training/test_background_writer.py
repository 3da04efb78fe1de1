"""The run's files written by a thread: order, merging of a waiting group, failed writes, and a
run that ends (completed, failed or interrupted) with every file whole and a resume that is
exact."""

from __future__ import annotations

import errno
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import torchlite
from torchlite.serialization import atomic_write_bytes, is_write_error, writing
from torchlite.training import background_writer
from torchlite.training.background_writer import BackgroundWriter
from torchlite.training.checkpoint import read_checkpoint_info
from torchlite.training.config import validate_config
from torchlite.training.prepare import prepare
from torchlite.training.runs import create_run_dir
from torchlite.training.trainer import Trainer, TrainingInterrupted


class Recorder:
    """A write_file that records what it writes; `hold` makes it wait at the first file until
    `release` is set."""

    def __init__(self, hold: bool = False, fail: str | None = None) -> None:
        self.written: list[tuple[str, bytes]] = []
        self.started, self.release = threading.Event(), threading.Event()
        self.hold, self.fail = hold, fail
        if not hold:
            self.release.set()

    def __call__(self, path: Path, data: bytes) -> None:
        self.started.set()
        assert self.release.wait(60)
        if path.name == self.fail:
            with writing(path):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.written.append((path.name, data))


def test_outside_background_a_write_is_done_at_once(tmp_path):
    rec = Recorder()
    BackgroundWriter(rec).write(tmp_path / "a", b"1")
    assert rec.written == [("a", b"1")]
    BackgroundWriter().write(tmp_path / "b", [b"x", b"y"])  # atomic_write_bytes by default
    assert (tmp_path / "b").read_bytes() == b"xy"


def test_files_are_written_in_order_and_the_block_ends_once_all_are(tmp_path):
    rec = Recorder()
    w = BackgroundWriter(rec)
    with w.background():
        w.write(tmp_path / "metrics.csv", b"1")
        w.write(tmp_path / "last", b"2")
        assert w.exists(tmp_path / "last") and not w.exists(tmp_path / "best")
        w.commit()
        w.write(tmp_path / "state", b"3")
    assert rec.written == [("metrics.csv", b"1"), ("last", b"2"), ("state", b"3")]


def test_a_waiting_group_is_merged_with_the_newer_one(tmp_path):
    """Its files the newer group lacks first, then the newer group's, each written once."""
    rec = Recorder(hold=True)
    w = BackgroundWriter(rec)
    with w.background():
        w.write(tmp_path / "x", b"0")
        w.commit()
        assert rec.started.wait(60)  # the thread is writing x: the next group waits
        for name in ("csv", "best", "last", "state"):
            w.write(tmp_path / name, b"epoch 2")
        w.commit()
        for name in ("csv", "last", "state"):
            w.write(tmp_path / name, b"epoch 3")
        w.commit()
        rec.release.set()
    assert rec.written == [("x", b"0"), ("best", b"epoch 2"), ("csv", b"epoch 3"),
                           ("last", b"epoch 3"), ("state", b"epoch 3")]


def test_a_failed_write_drops_the_files_after_it_and_is_raised_by_the_next_write(tmp_path):
    rec = Recorder(fail="last")
    w = BackgroundWriter(rec)
    with pytest.raises(OSError) as info, w.background():
        for name in ("csv", "last", "state"):
            w.write(tmp_path / name, b"1")
        w.commit()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # (until the thread has met the error)
            w.write(tmp_path / "next", b"2")
            time.sleep(0.01)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "last")
    assert is_write_error(info.value)
    assert rec.written == [("csv", b"1")]  # state is never newer than last


def test_a_failed_write_is_raised_at_the_end_of_the_block(tmp_path):
    w = BackgroundWriter(Recorder(fail="state"))
    with pytest.raises(OSError, match="No space left"), w.background():
        w.write(tmp_path / "state", b"1")
    with w.background():  # the error was raised once; the writer can be used again
        w.write(tmp_path / "csv", b"1")


def config(tmp_path, **trainer):
    return validate_config({
        "name": "w", "seed": 3, "device": "cpu",
        "data": {"dataset": "blobs", "n_samples": 160, "n_classes": 3, "n_features": 4,
                 "val_split": 0.25, "test_split": 0.0, "batch_size": 30},
        "model": {"type": "mlp", "hidden": [8]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "Adam", "lr": 0.01},
        "trainer": {"epochs": 4, "log_every_n_steps": 1, **trainer},
        "metrics": ["accuracy"],
        "output": {"root": str(tmp_path / "runs"), "plots": False},
    })


def test_a_failed_background_write_fails_the_run_as_a_failed_write_did(tmp_path):
    """The same OSError (marked, naming the file), summary.json `failed` with the reason, and
    the training state of an epoch before: nothing written after the failed file. (Which epoch
    depends on the disk's pace: a group still waiting merges with the next one.)"""
    cfg = config(tmp_path)
    paths = create_run_dir(cfg.output.root, "w")
    calls, written, failed_after = [], [], []

    def write_file(path, data):
        calls.append(path.name)
        if path.name == "last.safetensors" and calls.count(path.name) == 2:
            failed_after.append(len(written))
            with writing(path):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        atomic_write_bytes(path, data)
        written.append(path.name)

    trainer = Trainer(prepare(cfg), paths)
    trainer.files = BackgroundWriter(write_file)
    with pytest.raises(OSError) as info:
        trainer.fit()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(paths.last)
    summary = json.loads(paths.summary.read_text())
    assert summary["status"] == "failed"
    assert summary["stop_reason"] == f"cannot write {paths.last}: No space left on device"
    assert "end: failed (cannot write" in paths.log.read_text().splitlines()[-1]
    assert failed_after == [len(written)]  # nothing written after the failed file
    # the state on disk is the one written with the last `last` that made it: the same epoch,
    # the same weights (both whole)
    state, last = torchlite.load(paths.state), torchlite.load(paths.last)
    assert state["loop"]["epoch"] == read_checkpoint_info(paths.last)["epoch"] >= 1
    assert all(np.array_equal(state["model"][k].numpy(), v.numpy()) for k, v in last.items())


def _slow_writes(monkeypatch, seconds: float) -> None:
    def slow(path, data):
        time.sleep(seconds)
        return atomic_write_bytes(path, data)

    monkeypatch.setattr(background_writer, "atomic_write_bytes", slow)


def test_ctrl_c_while_files_are_written_leaves_them_whole_and_resume_is_exact(
        tmp_path, monkeypatch):
    cfg = config(tmp_path)
    full = create_run_dir(cfg.output.root, "full")
    Trainer(prepare(cfg), full).fit()
    _slow_writes(monkeypatch, 0.05)  # epoch 1's files are still being written at the signal

    def ctrl_c(event, **info):
        if event == "step" and (info["epoch"], info["batch"]) == (2, 1):
            os.kill(os.getpid(), signal.SIGINT)

    cut = create_run_dir(cfg.output.root, "cut")
    with pytest.raises(TrainingInterrupted):
        Trainer(prepare(cfg), cut, callback=ctrl_c).fit()
    state = torchlite.load(cut.state)
    assert (state["loop"]["epoch"], state["loop"]["batch"]) == (1, 1)  # saved at the signal
    assert torchlite.load(cut.last)
    assert json.loads(cut.summary.read_text())["status"] == "interrupted"
    Trainer(prepare(cfg), cut, resume=True).fit()
    want, got = torchlite.load(full.last), torchlite.load(cut.last)
    assert want.keys() == got.keys()
    assert all(np.array_equal(want[k].numpy(), got[k].numpy()) for k in want)
    assert cut.metrics.read_text().count("\n") == full.metrics.read_text().count("\n") == 5


def test_slow_writes_keep_every_epochs_row_and_files(tmp_path, monkeypatch):
    """Epochs faster than the disk: waiting groups merge, and the run ends with every file."""
    _slow_writes(monkeypatch, 0.02)
    cfg = config(tmp_path, epochs=6, checkpoint={"save_every": 2})
    paths = create_run_dir(cfg.output.root, "slow")
    summary = Trainer(prepare(cfg), paths).fit()
    assert summary["status"] == "completed"
    rows = paths.metrics.read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6"]
    assert torchlite.load(paths.state)["loop"]["epoch"] == 6
    assert {p.name for p in paths.weights.iterdir()} == {
        "best.safetensors", "last.safetensors", "last_state.safetensors",
        "epoch_2.safetensors", "epoch_4.safetensors", "epoch_6.safetensors"}
