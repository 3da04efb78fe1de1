"""configs/tokens_bag.yaml end to end through the CLI: integer token ids through data, train
(EmbeddingBag sparse=True, SparseAdam + a dense Adam), eval, infer on .npy/.csv ids, resume;
the same from .npz/.csv files of ids; config mistakes named on one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite.datasets as ds

runner = CliRunner()
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tokens_bag.yaml"
SMALL = ["data.n_samples=600", "data.vocab_size=300", "model.layers.0.num_embeddings=300",
         "optimizer.lr=0.05", "optimizer.dense.lr=0.05"]


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("tokens")
    r = cli("train", CONFIG, *SMALL, f"output.root={tmp / 'runs'}", "output.plots=false",
            "--epochs", "3", "--plain")
    assert r.exit_code == 0, r.output
    return tmp / "runs" / "tokens_bag"


def test_train_learns_and_checkpoints(run):
    rows = (run / "metrics.csv").read_text().splitlines()
    assert len(rows) == 4
    header = rows[0].split(",")
    last = dict(zip(header, rows[-1].split(",")))
    assert float(last["val/accuracy"]) > 0.6
    assert (run / "weights" / "best.safetensors").is_file()


def test_eval_and_infer_token_ids(run, tmp_path):
    ckpt = run / "weights" / "best.safetensors"
    r = cli("eval", ckpt)
    assert r.exit_code == 0, r.output
    ids = ds.tokens(n_samples=6, vocab_size=300, seq_len=16, n_classes=4).inputs
    np.save(tmp_path / "ids.npy", ids)
    np.savetxt(tmp_path / "ids.csv", ids, fmt="%d", delimiter=",",
               header=",".join(f"t{i}" for i in range(16)), comments="")
    for name in ("ids.npy", "ids.csv"):
        r = cli("infer", tmp_path / name, "--checkpoint", ckpt, "--output",
                tmp_path / f"{name}.out.csv")
        assert r.exit_code == 0, r.output
    bad = ids.astype(np.float64)
    bad[0, 0] = 1.5
    np.save(tmp_path / "bad.npy", bad)
    r = cli("infer", tmp_path / "bad.npy", "--checkpoint", ckpt, "--output",
            tmp_path / "bad.out.csv")
    assert r.exit_code == 3 and "whole numbers" in r.output, r.output


def test_resume(run):
    r = cli("train", "--resume", run, "--epochs", "4", "--plain")
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("token_files")
    d = ds.tokens(n_samples=300, vocab_size=200, seq_len=8, n_classes=3)
    np.savez(tmp / "toks.npz", x=d.inputs, y=d.targets)
    table = np.concatenate([d.inputs, d.targets[:, None]], axis=1)
    np.savetxt(tmp / "toks.csv", table, fmt="%d", delimiter=",",
               header=",".join([f"t{i}" for i in range(8)] + ["label"]), comments="")
    return tmp


CONFIG_FILES = """\
name: {name}
data: {{dataset: {dataset}, path: {path}, input_dtype: int64, batch_size: 32}}
model:
  type: sequential
  layers:
    - {{type: EmbeddingBag, num_embeddings: 200, embedding_dim: 8, mode: sum, sparse: true}}
    - {{type: Linear, in_features: 8, out_features: 3}}
loss: {{type: CrossEntropyLoss}}
optimizer: {optimizer}
trainer: {{epochs: 2}}
metrics: [accuracy]
output: {{root: {root}, plots: false}}
"""
GOOD = "{type: SparseAdam, lr: 0.02, dense: {type: Adam, lr: 0.02}}"


@pytest.mark.parametrize("dataset", ["npz", "csv"])
def test_train_from_files_of_ids(files, dataset):
    cfg = files / f"{dataset}.yaml"
    cfg.write_text(CONFIG_FILES.format(name=dataset, dataset=dataset,
                                       path=files / f"toks.{dataset}", optimizer=GOOD,
                                       root=files / "runs"))
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 0, r.output
    r = cli("eval", files / "runs" / dataset / "weights" / "best.safetensors", "--data",
            files / f"toks.{dataset}")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("optimizer, match", [
    ("{type: Adam, lr: 0.01}", "optimizer.type: Adam does not support sparse gradients"),
    ("{type: SparseAdam, lr: 0.01}", "optimizer.dense: SparseAdam updates only"),
    ("{type: SparseAdam, lr: 0.01, dense: {type: Adamm}}", "optimizer.dense.type"),
    ("{type: SGD, lr: 0.01, dense: {type: Adam}}", "optimizer.dense: SGD updates every"),
])
def test_optimizer_mistakes(files, optimizer, match):
    cfg = files / "bad.yaml"
    cfg.write_text(CONFIG_FILES.format(name="bad", dataset="npz", path=files / "toks.npz",
                                       optimizer=optimizer, root=files / "runs"))
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 2, r.output
    assert match in r.output and "internal error" not in r.output


def test_sgd_takes_sparse_gradients(files):
    cfg = files / "sgd.yaml"
    cfg.write_text(CONFIG_FILES.format(name="sgd", dataset="npz", path=files / "toks.npz",
                                       optimizer="{type: SGD, lr: 0.1}", root=files / "runs"))
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 0, r.output


def test_summary_and_validate_feed_token_ids(run):
    for target in (CONFIG, run / "weights" / "best.safetensors"):
        r = cli("summary", target)
        assert r.exit_code == 0 and "EmbeddingBag" in r.output, r.output
    r = cli("validate", CONFIG, *SMALL)
    assert r.exit_code == 0, r.output
