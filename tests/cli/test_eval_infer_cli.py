"""`torchlite eval` and `torchlite infer` on bad inputs, end to end: one error line naming the
file, exit 3 (never "internal error"); odd input names and an unwritable eval/ folder work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS, rewrite_checkpoint
from torchlite_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()



def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "tiny.yaml").write_text(TINY_DIGITS.format(name="tiny", root=tmp / "runs"))
    r = cli("train", tmp / "tiny.yaml", "--plain")
    assert r.exit_code == 0, r.output
    return tmp / "runs" / "tiny"


def error_line(r, code: int = 3) -> str:
    assert r.exit_code == code, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "internal error" not in lines[0], r.output
    return lines[0]


def test_eval_missing_data_file(run, tmp_path):
    assert error_line(cli("eval", run, "--data", tmp_path / "nope.npz")) == \
        f"error: {tmp_path / 'nope.npz'}: no such file or folder (--data)"


def test_eval_label_outside_the_classes(run, tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 64), np.float32), y=np.array([1, 12, 3]))
    assert "d.npz: label 12 (sample 1) is outside the model's classes 0..9" in \
        error_line(cli("eval", run, "--data", tmp_path / "d.npz"))


@pytest.mark.parametrize("name, folder", [("my input.npy", "my_input"),
                                          ("ïnput 1.npy", "input_1")])
def test_infer_default_output_from_an_odd_file_name(run, tmp_path, monkeypatch, name, folder):
    monkeypatch.chdir(tmp_path)  # runs/infer/ lands in the working directory
    np.save(tmp_path / name, np.zeros((2, 64), np.float32))
    r = cli("infer", name, "--checkpoint", run)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "runs" / "infer" / folder / "predictions.csv").is_file()


@pytest.mark.parametrize("content, fragment", [
    (b"", "not a readable .npy file: the file is empty"),
    (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (9, 64), }",
     "not a readable .npy file"),
])
def test_infer_unreadable_file(run, tmp_path, content, fragment):
    (tmp_path / "x.npy").write_bytes(content)
    assert f"{tmp_path / 'x.npy'}: {fragment}" in \
        error_line(cli("infer", tmp_path / "x.npy", "--checkpoint", run))


def test_infer_nan_input(run, tmp_path):
    x = np.zeros((3, 64), np.float32)
    x[2, 5] = np.nan
    np.save(tmp_path / "x.npy", x)
    line = error_line(cli("infer", tmp_path / "x.npy", "--checkpoint", run))
    assert "x.npy: 1 input value is NaN" in line and "at sample 2, position [5]" in line


def test_eval_with_an_unwritable_eval_folder_shows_the_metrics(run, tmp_path):
    copy = Path(shutil.copytree(run, tmp_path / "run"))
    shutil.rmtree(copy / "eval", ignore_errors=True)
    (copy / "eval").write_text("")
    r = cli("eval", copy, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["accuracy"] > 0 and "cannot write" in rep["report_error"]
    r = cli("eval", copy)  # the rendered report: metrics shown, the failed save said once
    assert r.exit_code == 0, r.output
    assert "accuracy" in r.stdout and "None" not in r.output
    assert "warning: the report was not saved: cannot write" in r.output


def test_eval_malformed_metadata(run, tmp_path):
    def edit(info):
        del info["preprocess"]["input_shape"]

    dst = rewrite_checkpoint(run / "weights" / "best.safetensors", tmp_path / "w.safetensors",
                             edit)
    for command in ("eval", "summary"):
        assert error_line(cli(command, dst)) == f"error: {dst}: checkpoint metadata is " \
                                                "malformed: preprocess.input_shape is missing"


def test_resume_of_a_missing_path_names_it(tmp_path):
    missing = tmp_path / "runs" / "nope"
    assert error_line(cli("train", "--resume", missing)) == \
        f"error: {missing}: no such run folder or checkpoint"


def test_names_from_a_checkpoint_print_as_text_not_markup(run, tmp_path):
    def edit(info):
        info["preprocess"]["classes"] = ["[/bold]", "[red]one", *map(str, range(2, 10))]

    dst = rewrite_checkpoint(run / "weights" / "best.safetensors", tmp_path / "x[/a].safetensors",
                             edit)
    r = cli("eval", dst)
    assert r.exit_code == 0, r.output
    assert "[/bold]" in r.output and "[red]one" in r.output
    r = cli("summary", dst)
    assert r.exit_code == 0, r.output
