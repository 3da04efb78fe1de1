"""Batch sizes that leave an epoch without a batch, or a BatchNorm layer with a one-sample batch,
and a non-finite loss on the first batch: refused by `train` and `validate` before the run
folder exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._checks import digits_config, run
from ._checks import refused as _refused


def config(tmp_path: Path) -> Path:
    return digits_config(tmp_path, epochs=1, batch_norm=True)


def refused(tmp_path, command: str, *overrides, code: int = 2) -> str:
    return _refused(tmp_path, command, config(tmp_path), *overrides, code=code)


@pytest.mark.parametrize("command", ["train", "validate"])
def test_drop_last_with_a_batch_larger_than_the_split(tmp_path, command):
    line = refused(tmp_path, command, "data.batch_size=5000", "data.drop_last=true")
    assert ("data.batch_size: 5000 with drop_last leaves no batch of the 1078 training "
            "samples") in line
    assert "diverged" not in line


@pytest.mark.parametrize("command", ["train", "validate"])
def test_batch_norm_with_a_last_batch_of_one_sample(tmp_path, command):
    line = refused(tmp_path, command, "data.batch_size=359")
    assert "data.batch_size: 359 leaves a last training batch of 1 sample (1078 = 3 x 359 + 1)" \
        in line
    assert "BatchNorm1d (layer 1)" in line and "data.drop_last: true" in line
    run(command, config(tmp_path), "data.batch_size=359", "data.drop_last=true")


def test_batch_norm_with_batches_of_one(tmp_path):
    line = refused(tmp_path, "validate", "data.batch_size=1", "data.drop_last=true")
    assert "data.batch_size: 1 gives training batches of 1 sample" in line


def test_mlp_batch_norm_is_found_too(tmp_path):
    line = refused(tmp_path, "validate", "data.batch_size=3",
                   "model={type: mlp, hidden: [8], batch_norm: true}")
    assert "BatchNorm1d (layer 1)" in line


def test_batch_norm_over_images_takes_a_single_sample(tmp_path):
    # BatchNorm2d over 8x8 maps has 64 values per channel even in a batch of one
    run("validate", config(tmp_path), "data.batch_size=359", "data.input_shape=[1, 8, 8]",
        "model.layers=[{type: Conv2d, in_channels: 1, out_channels: 4, kernel_size: 3, "
        "padding: 1}, {type: BatchNorm2d, num_features: 4}, {type: Flatten}, "
        "{type: Linear, in_features: 256, out_features: 10}]")


def test_without_batch_norm_a_last_batch_of_one_is_fine(tmp_path):
    run("validate", config(tmp_path), "data.batch_size=359", "model.layers.1={type: Identity}")


NAN_MODEL = """\
import torchlite.nn as nn


class NanNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(64, 10)

    def forward(self, x):
        return self.lin(x) * float("nan")
"""


@pytest.mark.parametrize("command", ["train", "validate"])
def test_a_nan_loss_on_the_first_batch_is_a_config_error(tmp_path, command):
    (tmp_path / "nan_net.py").write_text(NAN_MODEL)
    target = f"{tmp_path / 'nan_net.py'}:NanNet"
    line = refused(tmp_path, command, f"model={{type: custom, target: '{target}'}}")
    assert "model: the untrained model's output on one batch of finite data holds NaN" in line
