"""A CSV's column names travel from load_csv through build_data into checkpoints, so that infer
(and eval --data) match a table's columns by name: the same header in another order gives the
same predictions, an unknown column is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite.datasets import DatasetError, load_csv
from torchlite.serialization import read_metadata
from torchlite.training import api
from torchlite.training.build import build_data
from torchlite.training.config import load_config

runner = CliRunner()
FEATURES = ["alpha", "beta", "gamma", "delta"]
ORDER = [2, 0, 3, 1]  # a shuffled column order

CONFIG = """\
name: table
seed: 0
device: cpu
data: {{dataset: csv, path: {path}, val_split: 0.2, test_split: 0.2, batch_size: 32}}
model: {{type: mlp, hidden: [8]}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 2}}
output: {{root: {root}}}
"""


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def write_csv(path: Path, header: list[str], rows) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> dict:
    """A CSV with a header whose target is the last column (given by position, the default),
    and a run trained on it."""
    tmp = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 4)).round(4)
    y = (x[:, 0] + 2 * x[:, 1] - x[:, 3] > 0).astype(int)
    csv = write_csv(tmp / "train.csv", [*FEATURES, "label"],
                    [[*r, c] for r, c in zip(x, y)])
    cfg = tmp / "table.yaml"
    cfg.write_text(CONFIG.format(path=csv, root=tmp / "runs"))
    r = cli("train", cfg, "--plain")
    assert r.exit_code == 0, r.output
    return {"tmp": tmp, "x": x, "y": y, "csv": csv, "cfg": cfg, "run": tmp / "runs" / "table"}


def test_load_csv_keeps_the_feature_names(table):
    ds = load_csv(table["csv"])
    assert ds.feature_names == FEATURES and ds.meta["target_name"] == "label"
    assert ds.subset([0, 1]).feature_names == FEATURES
    assert load_csv(table["csv"], "beta").feature_names == ["alpha", "gamma", "delta", "label"]
    no_header = write_csv(table["tmp"] / "plain.csv", ["1", "2", "3"], [[4, 5, 0]])
    assert load_csv(no_header, header=False).feature_names is None


def test_build_data_stores_them_in_the_preprocess_dict(table):
    cfg, _ = load_config(table["cfg"])
    pre = build_data(cfg).preprocess
    assert pre["feature_names"] == FEATURES and pre["target_name"] == "label"
    meta = json.loads(read_metadata(table["run"] / "weights" / "best.safetensors")
                      ["torchlite_checkpoint"])
    assert meta["preprocess"]["feature_names"] == FEATURES


def test_repeated_column_names_are_not_stored(tmp_path):
    csv = write_csv(tmp_path / "twice.csv", ["a", "a", "label"],
                    [[i, -i, i % 2] for i in range(30)])
    cfg = tmp_path / "twice.yaml"
    cfg.write_text(CONFIG.format(path=csv, root=tmp_path / "runs"))
    cfg_obj, _ = load_config(cfg)
    assert "feature_names" not in build_data(cfg_obj).preprocess


def test_infer_matches_reordered_columns_by_name(table, tmp_path):
    x = table["x"][:12]
    same = write_csv(tmp_path / "same.csv", FEATURES, x)
    moved = write_csv(tmp_path / "moved.csv", [FEATURES[j] for j in ORDER], x[:, ORDER])
    # the training table itself, target column included, and in another order
    labelled = write_csv(tmp_path / "labelled.csv", ["label", *(FEATURES[j] for j in ORDER)],
                         [[c, *r] for r, c in zip(x[:, ORDER], table["y"])])
    outs = []
    for src in (same, moved, labelled):
        out = tmp_path / f"{src.stem}.npy"
        r = cli("infer", src, "--checkpoint", table["run"], "--output", out)
        assert r.exit_code == 0, r.output
        outs.append(np.load(out))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    # and it is the order that matters: the same numbers under the training order differ
    wrong = write_csv(tmp_path / "wrong.csv", FEATURES, x[:, ORDER])
    r = cli("infer", wrong, "--checkpoint", table["run"], "--output", tmp_path / "wrong.npy")
    assert r.exit_code == 0 and not np.array_equal(np.load(tmp_path / "wrong.npy"), outs[0])


def test_infer_refuses_an_unknown_column(table, tmp_path):
    odd = write_csv(tmp_path / "odd.csv", [*FEATURES[:3], "epsilon"], table["x"][:5])
    r = cli("infer", odd, "--checkpoint", table["run"])
    assert r.exit_code == 3, r.output
    assert f"{odd}: the columns do not match the model's features (missing 'delta'; unknown " \
           "'epsilon'); expected alpha, beta, gamma, delta" in r.output


def test_eval_data_matches_reordered_columns_by_name(table, tmp_path):
    rows = [[*r, c] for r, c in zip(table["x"], table["y"])]
    moved = write_csv(tmp_path / "moved.csv", [*(FEATURES[j] for j in ORDER), "label"],
                      [[r[j] for j in ORDER] + [r[-1]] for r in rows])
    same = api.evaluate_checkpoint(table["run"], data_path=str(table["csv"]))
    got = api.evaluate_checkpoint(table["run"], data_path=str(moved))
    assert got["confusion_matrix"] == same["confusion_matrix"]
    assert got["loss"] == pytest.approx(same["loss"])
    odd = write_csv(tmp_path / "odd.csv", ["alpha", "beta", "gamma", "x", "label"], rows)
    with pytest.raises(ValueError, match="unknown 'x'"):
        api.evaluate_checkpoint(table["run"], data_path=str(odd))


def test_feature_names_must_fit_the_samples():
    from torchlite.datasets import ArrayDataset

    with pytest.raises(DatasetError, match="2 feature names for samples of shape \\[3\\]"):
        ArrayDataset(np.zeros((4, 3)), feature_names=["a", "b"])
