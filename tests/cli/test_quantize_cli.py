"""`torchlite quantize` end to end: a trained digits run quantized (dynamic and static), the
int8 file evaluated, summarised and used for inference; bad requests exit 2 naming the layer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import digits_config
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("quant")
    r = cli("train", digits_config(tmp, "q", epochs=3), "--plain")
    assert r.exit_code == 0, r.output
    return tmp / "runs" / "q"


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_quantize_writes_int8_checkpoint_that_eval_infer_summary_accept(run, tmp_path, mode):
    out = tmp_path / f"{mode}.safetensors"
    r = cli("quantize", run, "--mode", mode, "--output", out, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output[r.output.index("{"):])
    assert rep["accuracy_after"] >= rep["accuracy_before"] - 0.03
    state = torchlite.load(out)
    assert any(v.dtype is torchlite.int8 for v in state.values())
    r = cli("eval", out, "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output[r.output.index("{"):])["accuracy"] == pytest.approx(
        rep["accuracy_after"])
    r = cli("summary", out)
    assert r.exit_code == 0 and "Linear" in r.output, r.output
    x = np.random.default_rng(0).uniform(0, 16, (5, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", out, "--output", tmp_path / "p.json")
    assert r.exit_code == 0, r.output


def test_quantize_default_output_and_table(run):
    r = cli("quantize", run)
    assert r.exit_code == 0, r.output
    assert (run / "weights" / "quantized.safetensors").is_file()
    assert "accuracy" in r.output and "smaller" in r.output


def test_static_quantization_names_unsupported_layer(tmp_path):
    r = cli("train", digits_config(tmp_path, "bn", epochs=1, batch_norm=True), "--plain")
    assert r.exit_code == 0, r.output
    r = cli("quantize", tmp_path / "runs" / "bn", "--mode", "static")
    assert r.exit_code == 2, r.output
    assert "model.1 (BatchNorm1d)" in r.output


def test_quantize_bad_mode_and_already_quantized(run, tmp_path):
    assert cli("quantize", run, "--mode", "fp4").exit_code == 2
    out = tmp_path / "d.safetensors"
    assert cli("quantize", run, "--output", out).exit_code == 0
    r = cli("quantize", out)
    assert r.exit_code == 2 and "already quantized" in r.output


def test_qat_config_trains_fake_quantized_and_writes_int8(tmp_path):
    cfg = digits_config(tmp_path, "qat", epochs=3,
                        trainer=", quantization: {mode: qat, fake_quant_start_epoch: 1}")
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 0, r.output
    run = tmp_path / "runs" / "qat"
    summary = json.loads((run / "summary.json").read_text())
    q = summary["quantized"]
    assert Path(q["path"]) == run / "weights" / "quantized.safetensors"
    assert q["test_accuracy"] > 0.5
    for target in (run / "weights" / "best.safetensors", Path(q["path"])):
        r = cli("eval", target, "--json", "--no-plots")
        assert r.exit_code == 0, r.output
    r = cli("eval", q["path"], "--json", "--no-plots")
    assert json.loads(r.output[r.output.index("{"):])["accuracy"] == pytest.approx(
        q["test_accuracy"])
    r = cli("train", "--resume", run, "trainer.epochs=4", "--plain")
    assert r.exit_code == 0, r.output


def test_qat_config_rejects_unsupported_layer(tmp_path):
    cfg = digits_config(tmp_path, "qbn", epochs=1, batch_norm=True,
                        trainer=", quantization: {mode: qat}")
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 2, r.output
    assert "trainer.quantization: quantization-aware training" in r.output
    assert "model.1 (BatchNorm1d)" in r.output
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_quantize_refuses_a_regression_head(tmp_path):
    config = Path(__file__).resolve().parents[2] / "configs" / "regression.yaml"
    r = cli("train", config, "trainer.epochs=1", f"output.root={tmp_path}", "--plain")
    assert r.exit_code == 0, r.output
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    r = cli("quantize", run)
    assert r.exit_code == 2, r.output
    assert "regression head" in r.output and "must stay float" in r.output
