"""kill -9 in the middle of torchlite.save: the file at the path is always a whole one.

A forked child saves generation after generation of a state dict over one path (about 8 MB
each); the parent kills it with SIGKILL at a random instant, or a random instant after the
write's temporary file appeared, then loads the path. It must load, as one generation (never a
mix, never a truncated file), no older than the last one seen. What a kill leaves beside the
file is only temporary files that `stale_temp_files` names (their cleanup belongs to whoever
manages the folder).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time

import numpy as np
import pytest

import torchlite
from torchlite.serialization import stale_temp_files

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                                reason="forks a writer to kill")

N = 2_000_000


def _state(gen: int) -> dict:
    return {"gen": torchlite.tensor([gen]), "w": torchlite.full((N,), float(gen)),
            "meta": {"step": gen, "note": "x" * (gen % 7)}}


def _writer(path, first_gen: int) -> None:
    """The child: save forever, never returning into pytest."""
    try:
        gen = first_gen
        while True:
            torchlite.save(_state(gen), path)
            gen += 1
    finally:
        os._exit(0)


def test_a_killed_save_leaves_the_previous_file_whole(tmp_path):
    rng = random.Random(1234)
    path = tmp_path / "state.safetensors"
    torchlite.save(_state(0), path)
    last_gen, killed_mid_write = 0, 0
    for round_ in range(25):
        pid = os.fork()
        if pid == 0:
            _writer(path, last_gen + 1)
        if round_ % 2:
            time.sleep(rng.uniform(0.0, 0.25))  # anywhere in a save
        else:  # inside a write: once its temporary file is there
            deadline = time.monotonic() + 5.0
            while not stale_temp_files(path) and time.monotonic() < deadline:
                time.sleep(0.0002)
            time.sleep(rng.uniform(0.0, 0.002))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        out = torchlite.load(path)
        gen = int(out["gen"].item())
        assert gen >= last_gen, (round_, gen, last_gen)
        w = out["w"].numpy()
        assert w.shape == (N,) and (w == gen).all(), round_
        assert out["meta"] == {"step": gen, "note": "x" * (gen % 7)}
        leftovers = set(os.listdir(tmp_path)) - {path.name}
        assert leftovers == {p.name for p in stale_temp_files(path)}
        killed_mid_write += bool(leftovers)
        for p in stale_temp_files(path):
            p.unlink()
        last_gen = gen
    assert killed_mid_write >= 4, "the kills hardly ever landed inside a write"
    assert last_gen > 0, "the writer never finished a save"
    assert np.array_equal(torchlite.load(path)["w"].numpy(), np.full(N, float(last_gen)))
