"""api.load_inputs / api.predict / outputs.write_predictions on awkward inputs: odd file names,
unreadable NumPy files, non-finite or complex values, CSV columns (a target column, order)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS, rewrite_checkpoint

import torchlite
from torchlite.datasets import DatasetError
from torchlite.training import api, outputs

PETS = """\
name: pets
seed: 0
device: cpu
data: {{dataset: csv, path: {path}, target: label, val_split: 0.2, test_split: 0.2,
       batch_size: 32, normalize: standard}}
model: {{type: mlp, hidden: [8]}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 2}}
output: {{root: {root}}}
"""

FEATURES = ["a", "b", "c", "d", "e"]


def write_csv(path: Path, header, rows) -> Path:
    lines = [",".join(header)] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A digits run and a run on a CSV with text labels (cat/dog) in a column named 'label'."""
    tmp = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 5)).round(4)
    labels = np.where(x[:, 0] + x[:, 1] > 0, "dog", "cat")
    write_csv(tmp / "pets.csv", [*FEATURES, "label"],
              [[*row, lab] for row, lab in zip(x, labels)])
    for name, text in (("digits", TINY_DIGITS), ("pets", PETS)):
        (tmp / f"{name}.yaml").write_text(text.format(name=name, root=tmp / "runs",
                                                      path=tmp / "pets.csv"))
        api.train(tmp / f"{name}.yaml")
    return {"digits": tmp / "runs" / "digits", "pets": tmp / "runs" / "pets", "x": x,
            "labels": labels}


def predict_file(path, run, **kw):
    return api.predict(api.load_inputs(path, kw.pop("key", None)), run, device="cpu", **kw)


# -- default output folder (item 3) --------------------------------------------------------------
@pytest.mark.parametrize("name, folder", [("my input.npy", "my_input"), ("_x.npy", "x"),
                                          ("ïnput 1.npy", "input_1"), ("...npy", "infer")])
def test_default_output_folder_is_a_valid_name(tmp_path, name, folder):
    result = {"task": "regression", "checkpoint": "w", "output": np.zeros((2, 1))}
    written = outputs.write_predictions(result, None, Path(name), root=str(tmp_path))
    assert written == tmp_path / "infer" / folder / "predictions.csv" and written.is_file()


# -- unreadable files (item 4) -------------------------------------------------------------------
def _truncated_npy(p: Path) -> bytes:
    np.save(p, np.zeros((50, 64), np.float32))
    return p.read_bytes()[:300]


@pytest.mark.parametrize("name, content", [
    ("empty.npy", lambda p: b""),
    ("zip.npz", lambda p: b"PK\x03\x04" + b"junk" * 20),
    ("text.npz", lambda p: b"just some text, not numpy"),
    ("cut.npy", _truncated_npy),
])
def test_unreadable_numpy_files_name_the_file(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content(p))
    with pytest.raises(DatasetError, match=f"^{p}: not a readable {p.suffix} file"):
        api.load_inputs(p)


def test_pickled_arrays_are_still_refused_as_pickles(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="obj.npy: holds Python objects"):
        api.load_inputs(tmp_path / "obj.npy")


# -- non-finite and complex values (item 5) ------------------------------------------------------
@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (-np.inf, "-inf"), (1e300, "1e+300")])
def test_non_finite_inputs_name_the_file_and_position(runs, tmp_path, bad, shown):
    x = np.asarray(torchlite.datasets.digits().inputs[:4], dtype=np.float64)
    x[1, 0, 2, 3] = bad
    x[3, 0, 0, 0] = bad
    np.save(tmp_path / "x.npy", x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow to float32 must not leak a RuntimeWarning
        with pytest.raises(ValueError) as info:
            predict_file(tmp_path / "x.npy", runs["digits"])
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'x.npy'}: 2 input values are NaN, infinite")
    assert f"the first: {shown} at sample 1, position [0, 2, 3]" in msg


def test_complex_inputs_are_refused(runs, tmp_path):
    np.save(tmp_path / "c.npy", np.ones((2, 64), np.complex64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: refused before any cast
        with pytest.raises(ValueError, match=r"c\.npy: inputs of dtype complex64 are not"):
            predict_file(tmp_path / "c.npy", runs["digits"])


# -- CSV columns (item 6) ------------------------------------------------------------------------
def test_csv_target_column_is_dropped_by_name(runs, tmp_path):
    x = runs["x"][:10]
    write_csv(tmp_path / "with.csv", ["label", *FEATURES],
              [[lab, *row] for row, lab in zip(x, runs["labels"])])
    write_csv(tmp_path / "features.csv", FEATURES, x)
    got = predict_file(tmp_path / "with.csv", runs["pets"])
    want = predict_file(tmp_path / "features.csv", runs["pets"])
    assert got["n"] == 10 and np.array_equal(got["output"], want["output"])


def test_csv_text_in_a_feature_column_names_line_and_column(runs, tmp_path):
    rows = [list(r) for r in runs["x"][:3]]
    rows[1][2] = "oops"
    write_csv(tmp_path / "t.csv", FEATURES, rows)
    with pytest.raises(DatasetError, match=r"t\.csv, line 3, column 3 \('c'\): expected a "
                                           "number, found 'oops'"):
        predict_file(tmp_path / "t.csv", runs["pets"])


def test_csv_extra_column_hints_at_the_target(runs, tmp_path):
    write_csv(tmp_path / "n.csv", None, [[*r, 1] for r in runs["x"][:3]])  # no header
    with pytest.raises(ValueError, match="one column too many: if that is the target column"):
        predict_file(tmp_path / "n.csv", runs["pets"])


def with_feature_names(run: Path, dst: Path) -> Path:
    """A copy of the run's checkpoint whose metadata stores the training feature names."""
    return rewrite_checkpoint(run / "weights" / "best.safetensors", dst,
                              lambda info: info["preprocess"].update(feature_names=FEATURES))


def test_csv_columns_follow_the_stored_feature_names(runs, tmp_path):
    ckpt = with_feature_names(runs["pets"], tmp_path / "named.safetensors")
    x = runs["x"][:10]
    order = [2, 0, 4, 1, 3]
    write_csv(tmp_path / "same.csv", FEATURES, x)
    write_csv(tmp_path / "moved.csv", [FEATURES[j] for j in order], x[:, order])
    got = predict_file(tmp_path / "moved.csv", ckpt)
    assert np.array_equal(got["output"], predict_file(tmp_path / "same.csv", ckpt)["output"])
    write_csv(tmp_path / "odd.csv", ["a", "b", "c", "d", "f"], x)
    with pytest.raises(ValueError, match="missing 'e'; unknown 'f'"):
        predict_file(tmp_path / "odd.csv", ckpt)
