"""A run interrupted at any batch (SIGINT or SIGTERM), then resumed, ends bit-identical to the run
that was never interrupted: same weights, same optimizer state, same metrics.csv rows. Each
interruption is a real signal sent to this process from the trainer's own step event, so every
batch position of an epoch is hit, with and without gradient accumulation.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS

import torchlite
from torchlite.training import api
from torchlite.training.trainer import TrainingInterrupted

EPOCHS = 2
BATCHES = 5  # train batches per epoch at batch_size 256 (1078 training samples)


def _config(tmp: Path, name: str, accumulate: int, precision: str = "32") -> Path:
    text = TINY_DIGITS.format(name=name, root=tmp / "runs")
    text = text.replace("batch_size: 128", "batch_size: 256")
    text = text.replace("trainer: {epochs: 1}",
                        f"trainer: {{epochs: {EPOCHS}, accumulate_grad_batches: {accumulate}, "
                        f"log_every_n_steps: 1, precision: {precision}}}")
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


def _signal_at(epoch: int, batch: int, sig: int):
    """A callback that sends `sig` to this process once, at the end of that batch."""
    sent = []

    def callback(event, **info):
        if event == "step" and not sent and (info["epoch"], info["batch"]) == (epoch, batch):
            sent.append(True)
            os.kill(os.getpid(), sig)
    return callback


def _flat(obj, prefix: str = "") -> dict:
    """A nested state (dicts, lists, Tensors, numbers) as {dotted.path: value}."""
    if isinstance(obj, dict):
        return {k: v for key, sub in obj.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    if isinstance(obj, (list, tuple)):
        return {k: v for i, sub in enumerate(obj) for k, v in _flat(sub, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): obj.numpy() if isinstance(obj, torchlite.Tensor) else obj}


def _final_state(run: Path) -> tuple[dict, list[str]]:
    """Weights, training state (optimizer, scheduler, RNG, loop) and metrics rows of a run."""
    weights = torchlite.load(run / "weights" / "last.safetensors")
    state = torchlite.load(run / "weights" / "last_state.safetensors")
    rows = [",".join(r.split(",")[:2] + r.split(",")[3:])  # without the wall-clock column
            for r in (run / "metrics.csv").read_text().splitlines()]
    every = {**_flat(weights, "weights."), **_flat(state, "state.")}
    return {k: v for k, v in every.items() if not k.endswith("time_s")}, rows  # wall clock


# 16-mixed: the GradScaler's scale and growth tracker (float16 overflows skip steps and back
# the scale off) must come back exactly too
@pytest.fixture(scope="module", params=[(1, "32"), (3, "32"), (1, "16-mixed")],
                ids=["no-accumulation", "accumulate-3", "16-mixed"])
def reference(request, tmp_path_factory):
    accumulate, precision = request.param
    tmp = tmp_path_factory.mktemp(f"acc{accumulate}-{precision}")
    api.train(_config(tmp, "full", accumulate, precision))
    return (accumulate, precision), tmp, _final_state(tmp / "runs" / "full")


POINTS = [(1, b) for b in range(1, BATCHES + 1)] + [(2, 2), (2, BATCHES)]


@pytest.mark.parametrize("epoch, batch", POINTS)
def test_interrupt_then_resume_is_bit_identical(reference, epoch, batch):
    (accumulate, precision), tmp, (want, want_rows) = reference
    name = f"cut-{epoch}-{batch}"
    sig = signal.SIGTERM if batch % 2 else signal.SIGINT
    with pytest.raises(TrainingInterrupted):
        api.train(_config(tmp, name, accumulate, precision),
                  callback=_signal_at(epoch, batch, sig))
    run = tmp / "runs" / name
    api.resume(run)
    got, rows = _final_state(run)
    assert rows == want_rows
    assert got.keys() == want.keys()
    differ = [k for k in want if not np.array_equal(got[k], want[k])]
    assert not differ, f"after a {signal.Signals(sig).name} at epoch {epoch} batch {batch}, " \
                       f"these differ from the uninterrupted run: {differ[:5]}"


def test_a_crash_between_the_weights_and_the_state_file_still_resumes_exactly(tmp_path):
    """A crash after epoch 2's last.safetensors was written but before its training state was:
    the state file of epoch 1 (which carries its own weights) is what the resume continues
    from, so the run ends as if nothing had happened, though last.safetensors is an epoch
    ahead of it."""
    def run_in_two_legs(name: str, crash: bool) -> Path:
        run = tmp_path / "runs" / name
        api.train(_config(tmp_path, name, 1), epochs=1)
        state_1 = (run / "weights" / "last_state.safetensors").read_bytes()
        api.resume(run, epochs=2)
        if crash:  # epoch 2's state file never made it to disk; its weights did
            (run / "weights" / "last_state.safetensors").write_bytes(state_1)
            weights = torchlite.load(run / "weights" / "last.safetensors")
            state = torchlite.load(run / "weights" / "last_state.safetensors")
            assert any(not np.array_equal(weights[k].numpy(), state["model"][k].numpy())
                       for k in weights)
            api.resume(run, epochs=2)
        return run

    want, want_rows = _final_state(run_in_two_legs("whole", crash=False))
    got, rows = _final_state(run_in_two_legs("crashed", crash=True))
    assert rows == want_rows
    assert got.keys() == want.keys()
    differ = [k for k in want if not np.array_equal(got[k], want[k])]
    assert not differ, f"these differ from the run without a crash: {differ[:5]}"


def test_a_state_file_without_weights_resumes_from_last(tmp_path):
    """State files written before they carried the weights: the resume reads last.safetensors,
    as it did then, and ends as the run that was never stopped."""
    def run_in_two_legs(name: str, strip: bool) -> Path:
        run = tmp_path / "runs" / name
        api.train(_config(tmp_path, name, 1), epochs=1)
        if strip:
            path = run / "weights" / "last_state.safetensors"
            state = torchlite.load(path)
            del state["model"]
            torchlite.save(state, path)
        api.resume(run, epochs=2)
        return run

    want, want_rows = _final_state(run_in_two_legs("whole", strip=False))
    got, rows = _final_state(run_in_two_legs("old-format", strip=True))
    assert rows == want_rows
    differ = [k for k in want if not np.array_equal(got[k], want[k])]
    assert not differ, f"these differ from the run that was never stopped: {differ[:5]}"
