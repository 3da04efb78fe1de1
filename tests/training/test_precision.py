"""trainer.precision end to end: each mode trains, records itself, evaluates and infers; the
modes a device cannot run are refused before a run folder exists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite
from torchlite.training import api
from torchlite.training.checkpoint import read_checkpoint_info
from torchlite.training.loader import ConfigError
from torchlite.training.precision import PRECISIONS, Precision, normalize, unsupported

pytest.importorskip("ml_dtypes", reason="the bf16 modes need the bf16 extra (ml_dtypes)")
runner = CliRunner()

# the -true modes keep their weights in this dtype; the mixed ones keep float32 masters
WEIGHTS = {"32": "float32", "64": "float64", "16-mixed": "float32", "bf16-mixed": "float32",
           "16-true": "float16", "bf16-true": "bfloat16"}


def _config(tmp: Path, precision: str, name: str | None = None) -> Path:
    name = name or f"p{precision}"
    text = TINY_DIGITS.format(name=name, root=tmp / "runs").replace(
        "trainer: {epochs: 1}", f"trainer: {{epochs: 1, precision: {precision}}}")
    if precision == "16-true":  # Adam's default eps, 1e-8, is 0 in float16 (as in PyTorch)
        text = text.replace("{type: Adam, lr: 1e-2}", "{type: Adam, lr: 1e-2, eps: 1e-4}")
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("precision")
    out = {}
    for p in PRECISIONS:
        r = runner.invoke(app, ["train", str(_config(tmp, p)), "--plain", "--no-plots"])
        assert r.exit_code == 0, (p, r.output)
        out[p] = tmp / "runs" / f"p{p}"
    return out


@pytest.mark.parametrize("precision", PRECISIONS)
def test_each_mode_trains_records_itself_and_evaluates(runs, precision):
    run = runs[precision]
    weights = torchlite.load(run / "weights" / "best.safetensors")
    assert {v.dtype.name for v in weights.values()} == {WEIGHTS[precision]}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    info = read_checkpoint_info(run / "weights" / "best.safetensors")
    assert info["config"]["trainer"]["precision"] == precision  # recorded in the checkpoint
    rep = api.evaluate_checkpoint(run / "weights" / "best.safetensors", plots=False)
    assert rep["accuracy"] > 0.5 and np.isfinite(rep["loss"])
    # the same weights in float32: a close answer (mixed and true modes round differently)
    full = api.evaluate_checkpoint(run / "weights" / "best.safetensors", plots=False,
                                   precision="32")
    assert abs(full["accuracy"] - rep["accuracy"]) <= 0.05


def test_eval_and_infer_take_precision(runs, tmp_path):
    ckpt = runs["32"] / "weights" / "best.safetensors"
    r = runner.invoke(app, ["eval", str(ckpt), "--precision", "bf16-mixed", "--json",
                            "--no-plots"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["accuracy"] > 0.5
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).uniform(0, 16, (4, 8, 8)).astype(np.float32))
    for p in ("bf16-true", "16-mixed"):
        r = runner.invoke(app, ["infer", str(x), "--checkpoint", str(ckpt), "--precision", p,
                                "--json", "--output", str(tmp_path / f"{p}.npy")])
        assert r.exit_code == 0, r.output
        assert np.load(tmp_path / f"{p}.npy").dtype == np.float32
    r = runner.invoke(app, ["eval", str(ckpt), "--precision", "8-bit"])
    assert r.exit_code == 2 and "--precision" in r.output


def test_a_bad_precision_is_a_config_error_without_a_run_folder(tmp_path):
    cfg = _config(tmp_path, "bf16")  # Lightning's short name is not one of trainer.precision's
    r = runner.invoke(app, ["train", str(cfg), "--plain"])
    assert r.exit_code == 2 and "trainer.precision" in r.output, r.output
    assert not (tmp_path / "runs").exists()


def test_bf16_on_a_gpu_is_refused_before_the_run_folder(tmp_path, monkeypatch):
    from torchlite.training import prepare as prepare_module

    cfg = _config(tmp_path, "bf16-mixed", name="gpu")
    monkeypatch.setattr(prepare_module, "resolve_device", lambda spec: "cuda:0")
    with pytest.raises(ConfigError, match="CuPy does not have"):
        api.train(cfg)
    assert not (tmp_path / "runs").exists()


def test_names_and_device_checks():
    assert normalize(32) == "32" and normalize("16") == "16-mixed" and normalize("bf16") == \
        "bf16-mixed"
    with pytest.raises(ValueError, match="unknown precision"):
        normalize("8")
    assert unsupported("16-mixed", "cuda:0") is None
    assert "CuPy" in unsupported("bf16-true", "cuda")
    assert unsupported("bf16-mixed", "cpu") is None
    p = Precision("16-mixed", "cpu")
    assert p.scaler is not None and p.scaler.is_enabled()
    assert Precision("bf16-mixed").scaler is None and Precision("32").state_dict() == {}


def test_mixed_step_keeps_float32_masters_and_scales_the_loss():
    torchlite.manual_seed(0)
    model = torchlite.nn.Linear(4, 3)
    opt = torchlite.optim.SGD(model.parameters(), lr=0.1)
    p = Precision("16-mixed", "cpu")
    with p.autocast():
        out = model(torchlite.randn(5, 4))
        loss = torchlite.nn.functional.cross_entropy(out, torchlite.tensor([0, 1, 2, 0, 1]))
    assert out.dtype == torchlite.float16 and loss.dtype == torchlite.float32
    p.backward(loss)
    assert model.weight.grad.dtype == torchlite.float32
    grad = model.weight.grad.numpy().copy()
    p.unscale(opt)
    np.testing.assert_allclose(model.weight.grad.numpy(), grad / 65536.0, rtol=1e-6)
    before = model.weight.detach().numpy().copy()
    p.step(opt)
    assert model.weight.dtype == torchlite.float32
    assert not np.array_equal(before, model.weight.detach().numpy())
    assert p.state_dict()["_growth_tracker"] == 1
