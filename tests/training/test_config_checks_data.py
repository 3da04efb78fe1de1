"""Data problems caught before a run folder exists: NaN/Inf in the user's files (exit 3, naming
the file, the count and the first position), a single class (exit 3), non-integer labels under
classification metrics or loss (exit 2), an npy dataset without targets and a bad CSV delimiter
(exit 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from torchlite.datasets import DatasetError, load_csv, load_npy, load_npz
from torchlite.errors import TorchliteError

from ._checks import run

BASE = """\
name: t
seed: 0
device: cpu
data: {{dataset: npz, path: {path}, batch_size: 32}}
model: {{type: mlp, hidden: [8]}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 1}}
metrics: [accuracy]
output: {{root: {root}}}
"""


def arrays(n: int = 120):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, n)


def config(tmp_path: Path, data: Path) -> Path:
    p = tmp_path / "t.yaml"
    p.write_text(BASE.format(path=data, root=tmp_path / "runs"))
    return p


def errors(tmp_path, command, data: Path, *overrides, code: int) -> list[str]:
    """The lines the CLI shows for the refusal (one per problem), with no run folder made."""
    with pytest.raises(TorchliteError) as exc:
        run(command, config(tmp_path, data), *overrides)
    assert exc.value.exit_code == code, str(exc.value)
    assert not (tmp_path / "runs").exists()
    return [f"error: {line}" for line in str(exc.value).splitlines()]


# -- NaN / Inf --------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["train", "validate"])
def test_many_nans_in_the_inputs_are_bad_data_not_divergence(tmp_path, command):
    x, y = arrays()
    x[::7, 1] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=y)
    [line] = errors(tmp_path, command, tmp_path / "d.npz", code=3)
    assert f"{tmp_path / 'd.npz'}: array 'x' holds 18 non-finite values" in line
    assert "the first at index [0, 1] (sample 0)" in line and "learning rate" not in line


def test_one_nan_that_would_land_in_the_test_split_is_refused(tmp_path):
    x, y = arrays()
    x[5, 2] = np.inf
    np.savez(tmp_path / "d.npz", x=x, y=y)
    [line] = errors(tmp_path, "train", tmp_path / "d.npz", code=3)
    assert "holds 1 non-finite value (" in line and "index [5, 2] (sample 5)" in line


def test_non_finite_regression_targets_and_float32_overflow(tmp_path):
    x, _ = arrays()
    y = np.linspace(0, 1, len(x))
    y[7] = np.nan
    np.savez(tmp_path / "t.npz", x=x, y=y)
    with pytest.raises(DatasetError, match=r"array 'y' holds 1 non-finite value .*index \[7\]"):
        load_npz(tmp_path / "t.npz")
    big = x.astype(np.float64)
    big[3, 0] = 1e300  # finite as float64, Inf once batches are cast to float32
    np.savez(tmp_path / "b.npz", x=big, y=y * 0)
    with pytest.raises(DatasetError, match=r"too large for float32.*index \[3, 0\]"):
        load_npz(tmp_path / "b.npz")


def test_npy_inputs_and_targets_are_checked(tmp_path):
    x, y = arrays()
    np.save(tmp_path / "y.npy", y)
    x[40, 3] = np.nan
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(DatasetError, match=r"x\.npy: the inputs array holds 1 .*\[40, 3\]"):
        load_npy(tmp_path / "x.npy", tmp_path / "y.npy")  # memory-mapped
    np.save(tmp_path / "x.npy", arrays()[0])
    np.save(tmp_path / "yf.npy", np.where(np.arange(len(y)) == 9, np.inf, 0.5))
    with pytest.raises(DatasetError, match=r"yf\.npy: the targets array holds 1 .*\[9\]"):
        load_npy(tmp_path / "x.npy", tmp_path / "yf.npy", task="regression")


def test_csv_non_finite_values_name_line_and_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n1,2,0\n3,nan,1\n4,5,inf\n")
    with pytest.raises(DatasetError, match=r"the features hold 1 non-finite value .*line 3, "
                       r"column 2 \('b'\)"):
        load_csv(p)
    p.write_text("a,b,label\n1,2,0.5\n3,4,1\n4,5,inf\n6,7,-inf\n")
    with pytest.raises(DatasetError, match=r"target column holds 2 non-finite values .*line 4, "
                       r"column 3 \('label'\)"):
        load_csv(p)


# -- classes and tasks --------------------------------------------------------------------------
def test_a_single_class_is_refused(tmp_path):
    x, _ = arrays()
    np.savez(tmp_path / "d.npz", x=x, y=np.zeros(len(x), np.int64))
    [line] = errors(tmp_path, "train", tmp_path / "d.npz", code=3)
    assert line == (f"error: {tmp_path / 'd.npz'}: the targets hold one class (0); "
                    "classification needs at least two")
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,cat\n3,4,cat\n5,6,cat\n")
    [line] = errors(tmp_path, "validate", tmp_path / "d.npz", "data.dataset=csv",
                    f"data.path={tmp_path / 'd.csv'}", code=3)
    assert "the targets hold one class (0, 'cat')" in line


@pytest.mark.parametrize("command", ["train", "validate"])
def test_non_integer_labels_under_classification_metrics_and_loss(tmp_path, command):
    x, _ = arrays()
    np.savez(tmp_path / "d.npz", x=x, y=np.linspace(0, 1, len(x)))
    lines = errors(tmp_path, command, tmp_path / "d.npz", code=2)
    assert len(lines) == 2
    assert "metrics.0: 'accuracy' is a classification metric, but the targets in " in lines[0]
    assert "are non-integer values, so the task is regression" in lines[0]
    assert "loss.type: CrossEntropyLoss is a classification loss" in lines[1]


def test_whole_number_float_labels_point_at_data_task(tmp_path):
    x, y = arrays()
    np.savez(tmp_path / "d.npz", x=x, y=y.astype(np.float32))
    lines = errors(tmp_path, "validate", tmp_path / "d.npz", code=2)
    assert "whole numbers stored as floats" in lines[0] and "data.task: classification" in lines[0]
    run("validate", config(tmp_path, tmp_path / "d.npz"), "data.task=classification")


def test_regression_metrics_on_a_regression_file_are_accepted(tmp_path):
    # the file's task is only known once it is read: the schema no longer assumes classification
    x, _ = arrays()
    np.savez(tmp_path / "d.npz", x=x, y=np.linspace(0, 1, len(x)))
    run("validate", config(tmp_path, tmp_path / "d.npz"), "metrics=[mse, r2]", "loss.type=MSELoss")


# -- config keys of file datasets ---------------------------------------------------------------
def test_npy_without_targets_path_names_the_key(tmp_path):
    np.save(tmp_path / "x.npy", arrays()[0])
    [line] = errors(tmp_path, "train", tmp_path / "x.npy", "data.dataset=npy", code=2)
    assert "data.targets_path: dataset 'npy' reads the targets from a second file" in line
    assert "stratify" not in line


@pytest.mark.parametrize("delimiter", ["ab", "''"])
def test_csv_delimiter_must_be_one_character(tmp_path, delimiter):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    [line] = errors(tmp_path, "train", tmp_path / "d.csv", "data.dataset=csv",
                    f"data.delimiter={delimiter}", code=2)
    assert "data.delimiter: must be one character" in line
