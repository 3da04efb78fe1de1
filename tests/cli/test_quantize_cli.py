"""`torchlite quantize` end to end: a trained digits run quantized (dynamic, static and qat), the
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


@pytest.mark.parametrize("mode", ["dynamic", "static", "qat"])
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
    before = Path(q["path"]).read_bytes()
    for mode in ("dynamic", "static", "qat"):  # it is fake-quantized, and has its int8 file
        r = cli("quantize", run, "--mode", mode)
        assert r.exit_code == 2 and "trained with trainer.quantization" in r.output, r.output
    assert Path(q["path"]).read_bytes() == before


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


def test_qat_mode_fine_tunes_at_a_tenth_of_the_lr_and_is_reproducible(run, tmp_path):
    reports, states = [], []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.safetensors"
        r = cli("quantize", run, "--mode", "qat", "--epochs", "2", "--output", out, "--json")
        assert r.exit_code == 0, r.output
        reports.append(json.loads(r.output[r.output.index("{"):]))
        states.append(torchlite.load(out))
    rep = reports[0]
    assert rep["epochs"] == 2 and rep["lr"] == pytest.approx(1e-3)  # the config's 1e-2 / 10
    assert rep["per_channel"] is True  # qat's default, as PyTorch's x86 QAT qconfig
    assert reports[0] == {**reports[1], "output": rep["output"]}
    assert states[0].keys() == states[1].keys()
    for k, v in states[0].items():
        assert np.array_equal(v.numpy(), states[1][k].numpy()), k
    meta = torchlite.serialization.read_metadata(rep["output"])
    layout = json.loads(meta["torchlite_checkpoint"])
    assert layout["quantization"]["mode"] == "qat"
    assert layout["quantization"]["epochs"] == 2


def test_qat_mode_prints_each_epoch_and_takes_an_lr(run, tmp_path):
    r = cli("quantize", run, "--mode", "qat", "--epochs", "1", "--lr", "0.003", "--per-tensor",
            "--output", tmp_path / "q.safetensors")
    assert r.exit_code == 0, r.output
    assert "qat fine-tuning epoch 1/1: train loss" in r.output
    assert "fine-tuned 1 epochs with fake quantization at lr 0.003" in r.output
    meta = torchlite.serialization.read_metadata(tmp_path / "q.safetensors")
    assert json.loads(meta["torchlite_checkpoint"])["quantization"]["per_channel"] is False


def test_qat_mode_bad_options_and_divergence_write_nothing(run, tmp_path):
    out = tmp_path / "q.safetensors"
    for args in (["--epochs", "2"], ["--lr", "0.1"], ["--mode", "static", "--lr", "0.1"]):
        r = cli("quantize", run, *args, "--output", out)
        assert r.exit_code == 2 and "--mode qat" in r.output, r.output
    for bad in ("0", "-1", "nan"):
        r = cli("quantize", run, "--mode", "qat", "--lr", bad, "--output", out)
        assert r.exit_code == 2 and "--lr must be a positive number" in r.output, r.output
    r = cli("quantize", run, "--mode", "qat", "--epochs", "0", "--output", out)
    assert r.exit_code == 2, r.output
    r = cli("quantize", run, "--mode", "qat", "--lr", "1e30", "--output", out)
    assert r.exit_code == 4 and "nothing was written" in r.output, r.output
    assert not out.exists()


def test_qat_mode_names_unsupported_layer(tmp_path):
    r = cli("train", digits_config(tmp_path, "bnq", epochs=1, batch_norm=True), "--plain")
    assert r.exit_code == 0, r.output
    r = cli("quantize", tmp_path / "runs" / "bnq", "--mode", "qat")
    assert r.exit_code == 2, r.output
    assert "quantization-aware training does not support layer model.1 (BatchNorm1d)" in r.output
