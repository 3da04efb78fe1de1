"""What train, validate, summary and infer give back: --json on stdout (progress on stderr),
test metrics after training, the defaults and threads applied, infer's cut table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS
from torchlite_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict, object]:
    tmp = tmp_path_factory.mktemp("outputs")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(TINY_DIGITS.format(name="tiny", root=tmp / "runs"))
    r = cli("train", cfg, "metrics=[accuracy, top3_accuracy]", "--json", "--plain",
            "--no-plots", "--threads", "1")
    assert r.exit_code == 0, r.output
    return tmp / "runs" / "tiny", json.loads(r.stdout), r


def test_train_json_is_the_summary_alone_on_stdout(trained):
    run, summary, r = trained
    assert summary == json.loads((run / "summary.json").read_text())
    assert "epoch 1:" in r.stderr and "epoch 1:" not in r.stdout


def test_train_evaluates_the_test_split_at_the_end(trained):
    run, summary, r = trained
    test = summary["test_metrics"]
    assert set(test) == {"test/loss", "test/accuracy", "test/top3_accuracy"}
    assert 0 <= test["test/accuracy"] <= test["test/top3_accuracy"] <= 1
    assert "test (359 samples): loss" in r.stderr  # digits: 20% of 1797, stratified
    assert "test: test/loss" in (run / "train.log").read_text()


def test_the_summary_says_what_was_applied(trained):
    _, summary, _ = trained
    assert summary["threads"] == {"threads": 1, "source": "--threads", "reason": ""}
    assert summary["preprocessing"]["normalize"] == "standard"
    assert summary["early_stopping"]["patience"] == 8  # on by default


def test_train_without_a_test_split_has_no_test_metrics(tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TINY_DIGITS.format(name="t", root=tmp_path / "runs"))
    r = cli("train", cfg, "data.test_split=0", "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    assert "test_metrics" not in json.loads(r.stdout) and "test (" not in r.stderr


def test_tabular_inputs_are_standardised_by_default(tmp_path):
    cfg = tmp_path / "b.yaml"
    cfg.write_text(TINY_DIGITS.format(name="b", root=tmp_path / "runs").replace(
        "{dataset: digits, val_split: 0.2, test_split: 0.2, batch_size: 128, normalize: standard}",
        "{dataset: blobs, n_samples: 200, n_features: 5, val_split: 0.2, batch_size: 32}"))
    r = cli("train", cfg, "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    pre = json.loads(r.stdout)["preprocessing"]
    assert pre == {"normalize": "standard", "normalize_configured": "auto", "input_shape": [5]}
    r = cli("train", cfg, "data.normalize=none", "--json", "--no-plots", "--name", "raw")
    assert json.loads(r.stdout)["preprocessing"]["normalize"] == "none"


def test_images_are_left_as_they_are_by_default(tmp_path):
    cfg = tmp_path / "i.yaml"
    cfg.write_text(TINY_DIGITS.format(name="i", root=tmp_path / "runs").replace(
        ", normalize: standard", ""))
    r = cli("train", cfg, "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["preprocessing"]["normalize"] == "none"


def test_small_work_trains_on_one_thread_unless_told(tmp_path, monkeypatch):
    from torchlite import _parallel

    for var in _parallel.THREAD_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_parallel, "_user_set", False)
    monkeypatch.setattr(_parallel, "_threads", _parallel._threads)
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TINY_DIGITS.format(name="t", root=tmp_path / "runs"))
    r = cli("train", cfg, "--json", "--no-plots")
    threads = json.loads(r.stdout)["threads"]
    assert threads["threads"] == 1 and threads["source"] == "auto"
    assert "small work" in threads["reason"]
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    r = cli("train", cfg, "--json", "--no-plots", "--name", "env")
    assert json.loads(r.stdout)["threads"]["source"] == "OMP_NUM_THREADS"
    r = cli("train", cfg, "--threads", "0")
    assert r.exit_code == 2


def test_validate_and_summary_json(trained, tmp_path):
    cfg = tmp_path / "v.yaml"
    cfg.write_text(TINY_DIGITS.format(name="v", root=tmp_path / "runs"))
    r = cli("validate", cfg, "--json")
    assert r.exit_code == 0, r.output
    v = json.loads(r.stdout)
    assert v["output_shape"] == [8, 10] or v["output_shape"][1] == 10
    assert v["train"] + v["val"] + v["test"] == 1797
    s = json.loads(cli("summary", trained[0], "--json").stdout)
    assert s["total_parameters"] == sum(layer["parameters"] for layer in s["layers"])


def test_infer_says_when_its_table_is_cut_and_json_has_every_row(trained, tmp_path):
    run = trained[0]
    x = np.random.default_rng(0).random((25, 64)).astype(np.float32) * 16
    np.save(tmp_path / "x.npy", x)
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--output", tmp_path / "p.csv")
    assert r.exit_code == 0, r.output
    assert f"first 10 of 25 rows; all in {tmp_path / 'p.csv'}" in r.stderr
    assert "first 10" not in r.stdout
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--limit", "30")
    assert "first" not in r.output
    r = cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--json", "--output",
            tmp_path / "p.json")
    out = json.loads(r.stdout)
    assert out["n"] == 25 and len(out["predictions"]) == 25
    assert {"index", "class", "confidence"} <= set(out["predictions"][0])


def test_eval_reports_every_configured_metric_with_named_classes(trained):
    r = cli("eval", trained[0], "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert 0 <= rep["top3_accuracy"] <= 1
    assert rep["class_names"] == [row["class"] for row in rep["per_class"]]
    assert "top3_accuracy" in cli("eval", trained[0], "--no-plots").stdout
