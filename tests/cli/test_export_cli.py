"""`torchlite export` end to end (torchlite/training/export.py): a trained run exported to ONNX,
checked in ONNX Runtime, and run again by `infer`/`eval --checkpoint model.onnx`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS
from torchlite_cli.main import app
from typer.testing import CliRunner

EXTRA = "needs the onnx extra: pip install 'torchlite[onnx]'"
pytest.importorskip("onnx", reason=EXTRA)
pytest.importorskip("onnxruntime", reason=EXTRA)
import onnx  # noqa: E402

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    (tmp / "tiny.yaml").write_text(TINY_DIGITS.format(name="tiny", root=tmp / "runs"))
    r = cli("train", tmp / "tiny.yaml", "--plain")
    assert r.exit_code == 0, r.output
    return tmp / "runs" / "tiny"


def _json(r) -> dict:
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout[r.stdout.index("{"):])


def test_export_writes_beside_the_checkpoint_and_prints_the_difference(run):
    r = cli("export", run)
    assert r.exit_code == 0, r.output
    out = run / "weights" / "best.onnx"
    assert out.is_file()
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    m = re.search(r"largest difference from torchlite ([0-9.e+-]+)", r.output)
    assert m and float(m.group(1)) <= 1e-5, r.output
    assert "samples of the digits dataset" in r.output


@pytest.mark.parametrize("pre", [False, True])
def test_dynamic_batch_and_preprocessing_then_infer_on_the_file(run, tmp_path, pre):
    out = tmp_path / ("pre.onnx" if pre else "plain.onnx")
    args = ["export", run, "--format", "onnx", "--output", out, "--dynamic-batch", "--json",
            "--opset", "18"]
    res = _json(cli(*args, *(["--include-preprocessing"] if pre else [])))
    assert res["output"] == str(out) and res["opset"] == 18
    assert res["batch_sizes"] == [1, 8] and res["max_abs_diff"] <= 1e-5
    assert res["include_preprocessing"] is pre
    types = set(res["op_types"])
    assert ({"Sub", "Div"} <= types) is pre  # the stored normalisation: the first nodes
    from torchlite.datasets import digits

    raw = digits().inputs[:30].astype(np.float32)
    np.save(tmp_path / "in.npy", raw)
    want = cli("infer", tmp_path / "in.npy", "--checkpoint", run, "--output",
               tmp_path / "want.npy")
    got = cli("infer", tmp_path / "in.npy", "--checkpoint", out, "--output",
              tmp_path / "got.npy")
    assert want.exit_code == 0 and got.exit_code == 0, got.output
    diff = np.abs(np.load(tmp_path / "want.npy") - np.load(tmp_path / "got.npy")).max()
    assert diff <= 1e-5


def test_a_fixed_batch_file_runs_in_infer_one_batch_at_a_time(run, tmp_path):
    out = tmp_path / "fixed.onnx"
    res = _json(cli("export", run, "--output", out, "--json"))
    assert res["batch_sizes"] == [1]
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_value == 1
    np.save(tmp_path / "in.npy", np.zeros((5, 64), np.float32))
    r = cli("infer", tmp_path / "in.npy", "--checkpoint", out, "--json")
    assert r.exit_code == 0, r.output


def test_eval_on_the_exported_file_matches_the_checkpoint(run, tmp_path):
    out = tmp_path / "e.onnx"
    _json(cli("export", run, "--output", out, "--dynamic-batch", "--json"))
    a = _json(cli("eval", run, "--json", "--no-plots"))
    b = _json(cli("eval", out, "--json", "--no-plots"))
    assert abs(a["loss"] - b["loss"]) < 1e-5 and a["accuracy"] == b["accuracy"]


def test_bad_format_and_opset_are_usage_errors(run):
    r = cli("export", run, "--format", "tflite")
    assert r.exit_code == 2 and "--format tflite" in r.output
    r = cli("export", run, "--opset", "7")
    assert r.exit_code == 2 and "--opset 7" in r.output


def test_an_onnx_file_without_torchlite_metadata_is_refused_by_infer(tmp_path):
    import torchlite

    torchlite.onnx.export(torchlite.nn.Linear(64, 10), torchlite.zeros(1, 64),
                          tmp_path / "bare.onnx")
    np.save(tmp_path / "in.npy", np.zeros((1, 64), np.float32))
    r = cli("infer", tmp_path / "in.npy", "--checkpoint", tmp_path / "bare.onnx")
    assert r.exit_code == 3 and "without torchlite's metadata" in r.output


CUSTOM = """\
name: custom
seed: 0
device: cpu
data: {{dataset: digits, val_split: 0.2, test_split: 0.2, batch_size: 128, input_shape: [64]}}
model: {{type: custom, target: {code}:TinyNet, args: {{in_features: 64, hidden: 8}}}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 1}}
output: {{root: {root}}}
"""


def test_a_custom_model_needs_its_code_named(tmp_path):
    from pathlib import Path

    code = Path(__file__).resolve().parents[2] / "configs" / "models" / "tiny_net.py"
    (tmp_path / "c.yaml").write_text(CUSTOM.format(code=code, root=tmp_path / "runs"))
    assert cli("train", tmp_path / "c.yaml", "--plain").exit_code == 0
    r = cli("export", tmp_path / "runs" / "custom")
    assert r.exit_code == 2 and "--model-code" in r.output
    res = _json(cli("export", tmp_path / "runs" / "custom", "--model-code", code, "--json",
                    "--dynamic-batch"))
    assert res["max_abs_diff"] <= 1e-5


def test_the_exported_file_is_told_as_onnx_and_a_renamed_checkpoint_is_not(run, tmp_path):
    import shutil

    from torchlite import _filekind

    out = tmp_path / "k.onnx"
    _json(cli("export", run, "--output", out, "--json"))
    assert _filekind.sniff(out) == "onnx" and _filekind.describe(out) == "an ONNX model"
    fake = tmp_path / "fake.onnx"
    shutil.copy(run / "weights" / "best.safetensors", fake)
    assert _filekind.sniff(fake) == "safetensors"
    np.save(tmp_path / "in.npy", np.zeros((2, 64), np.float32))
    r = cli("infer", tmp_path / "in.npy", "--checkpoint", fake)  # a checkpoint by another name
    assert r.exit_code == 0, r.output


def test_without_the_extra_export_names_it(run, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    r = cli("export", run)
    assert r.exit_code == 2 and "pip install 'torchlite[onnx]'" in r.output
