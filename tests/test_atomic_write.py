"""atomic_write_bytes: the bytes written whatever the buffers, short writes, and temporary names
that leave the `random` module alone (more in tests/training/test_runs_files.py and
tests/reliability, which kill and fill the disk under it)."""

from __future__ import annotations

import os
import random

import numpy as np

from torchlite import _atomic_write
from torchlite._atomic_write import atomic_write_bytes, temp_name_pattern


def test_buffers_small_and_large_are_written_in_order(tmp_path):
    parts = [b"12345678", b"h" * 1500, os.urandom(200_000), memoryview(b"tail"),
             bytearray(b"x" * 70_000), b""]
    atomic_write_bytes(tmp_path / "f", parts)
    assert (tmp_path / "f").read_bytes() == b"".join(parts)
    atomic_write_bytes(tmp_path / "g", memoryview(b"one view"))
    assert (tmp_path / "g").read_bytes() == b"one view"
    atomic_write_bytes(tmp_path / "h", [np.arange(5, dtype=np.int32)])
    assert (tmp_path / "h").read_bytes() == np.arange(5, dtype=np.int32).tobytes()


def test_short_writes_are_continued(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, buf: real_write(fd, bytes(buf)[:999]))
    data = os.urandom(150_000)
    atomic_write_bytes(tmp_path / "f", [b"head", data])
    assert (tmp_path / "f").read_bytes() == b"head" + data


def test_temporary_names_leave_the_random_module_alone(tmp_path, monkeypatch):
    random.seed(5)
    want = random.random()
    random.seed(5)
    names = []
    real = _atomic_write._create_temp

    def create(path):
        fd, tmp = real(path)
        names.append(os.path.basename(tmp))
        return fd, tmp

    monkeypatch.setattr(_atomic_write, "_create_temp", create)
    for _ in range(3):
        atomic_write_bytes(tmp_path / "f", b"1")
    assert random.random() == want
    assert len(set(names)) == 3
    assert all(temp_name_pattern("f").fullmatch(n) for n in names)
    assert os.listdir(tmp_path) == ["f"]
