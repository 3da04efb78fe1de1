"""api.evaluate_checkpoint / predict / summarize against bad --data, labels the model does not
know, an unwritable eval/ folder, malformed checkpoint metadata, failing custom model code and
non-finite metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import NET
from _tiny_runs import rewrite_checkpoint as rewrite

from torchlite.serialization import CheckpointError
from torchlite.training import api

CONFIG = """\
name: {name}
seed: 0
device: cpu
data: {{dataset: {dataset}, val_split: 0.2, test_split: 0.2, batch_size: 64,
       normalize: standard, input_shape: {shape}}}
model: {model}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 2}}
output: {{root: {root}}}
"""



def train(tmp: Path, name: str, dataset: str, model: str, shape="[64]") -> Path:
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(CONFIG.format(name=name, dataset=dataset, model=model, shape=shape,
                                 root=tmp / "runs"))
    api.train(cfg)
    return tmp / "runs" / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 3)).round(4)
    lab = np.where(x[:, 0] > 0, "dog", "cat")
    (tmp / "pets.csv").write_text("a,b,c,label\n" + "".join(
        f"{r[0]},{r[1]},{r[2]},{c}\n" for r, c in zip(x, lab)))
    (tmp / "net.py").write_text(NET)
    return {
        "digits": train(tmp, "digits", "digits", "{type: mlp, hidden: [16]}"),
        "pets": train(tmp, "pets", f"csv, path: {tmp / 'pets.csv'}, target: label",
                      "{type: mlp, hidden: [8]}", shape="null"),
        "custom": train(tmp, "custom", "digits",
                        f"{{type: custom, target: '{tmp / 'net.py'}:Net', args: {{mode: ok}}}}"),
    }


def best(run: Path) -> Path:
    return run / "weights" / "best.safetensors"


# -- --data that is missing or a folder the dataset cannot use (item 1) --------------------------
def test_missing_data_file_is_an_error(runs, tmp_path):
    with pytest.raises(FileNotFoundError, match=f"^{tmp_path / 'nope.npz'}: no such file"):
        api.evaluate_checkpoint(runs["digits"], data_path=str(tmp_path / "nope.npz"))


def test_data_folder_for_a_dataset_without_folders(runs, tmp_path):
    with pytest.raises(ValueError, match="dataset 'digits' is not read from a folder"):
        api.evaluate_checkpoint(runs["digits"], data_path=str(tmp_path))


# -- labels through the checkpoint's classes (item 2) --------------------------------------------
def test_text_labels_use_the_checkpoints_class_names(runs, tmp_path):
    (tmp_path / "dogs.csv").write_text("a,b,c,label\n" + "2,0,0,dog\n" * 5)
    rep = api.evaluate_checkpoint(runs["pets"], data_path=str(tmp_path / "dogs.csv"))
    support = {row["class"]: row["support"] for row in rep["per_class"]}
    assert support == {"cat": 0, "dog": 5}  # not re-encoded from the file ("dog" -> 0 -> cat)


def test_unknown_text_label_names_it_and_the_known_classes(runs, tmp_path):
    (tmp_path / "b.csv").write_text("a,b,c,label\n1,2,3,bird\n1,1,1,dog\n")
    with pytest.raises(ValueError, match=r"b\.csv: label 'bird' not among the model's classes "
                                         r"\(cat, dog\)"):
        api.evaluate_checkpoint(runs["pets"], data_path=str(tmp_path / "b.csv"))


def test_integer_label_outside_the_models_classes(runs, tmp_path):
    y = np.arange(6) % 10
    y[4] = 12
    np.savez(tmp_path / "d.npz", x=np.zeros((6, 64), np.float32), y=y)
    with pytest.raises(ValueError, match=r"d\.npz: label 12 \(sample 4\) is outside the "
                                         r"model's classes 0\.\.9"):
        api.evaluate_checkpoint(runs["digits"], data_path=str(tmp_path / "d.npz"))


# -- an unwritable eval/ folder keeps the metrics (item 7) ---------------------------------------
def test_unwritable_eval_folder_still_returns_the_report(runs, tmp_path):
    run = Path(shutil.copytree(runs["digits"], tmp_path / "run"))
    shutil.rmtree(run / "eval", ignore_errors=True)
    (run / "eval").write_text("a file where the eval/ folder goes")
    rep = api.evaluate_checkpoint(run)
    assert 0 <= rep["accuracy"] <= 1 and rep["samples"] > 300
    assert rep["report_dir"] is None
    assert rep["report_error"].startswith(f"cannot write {run / 'eval'}")


# -- malformed checkpoint metadata (item 8) ------------------------------------------------------
def _no_input_shape(info):
    del info["preprocess"]["input_shape"]


def _bad_transform(info):
    info["preprocess"]["transform"] = {"type": "Compose"}  # no "transforms"


EDITS = [(lambda info: [info], "expected a JSON object"),
         (_no_input_shape, "preprocess.input_shape is missing"),
         (lambda info: info["preprocess"].update(num_classes="ten"), "preprocess.num_classes")]


@pytest.mark.parametrize("call, edit, fragment", [
    *((call, *e) for call in ("eval", "summary", "infer") for e in EDITS),
    *((call, _bad_transform, "preprocess.transform cannot be rebuilt")  # summary needs none
      for call in ("eval", "infer")),
])
def test_malformed_metadata_is_a_checkpoint_error(runs, tmp_path, call, edit, fragment):
    ckpt = rewrite(best(runs["digits"]), tmp_path / "w.safetensors", edit)
    run = {"eval": lambda: api.evaluate_checkpoint(ckpt),
           "summary": lambda: api.summarize(ckpt),
           "infer": lambda: api.predict(np.zeros((2, 64), np.float32), ckpt)}[call]
    with pytest.raises(CheckpointError, match=f"^{ckpt}: checkpoint metadata is malformed: "
                                              f".*{fragment}"):
        run()


# -- errors in a custom model's own code (item 9) ------------------------------------------------
@pytest.mark.parametrize("mode, fragment", [
    ("boom", r"\(__init__\): RuntimeError: boom in init"),
    ("fail", r"\(forward\): KeyError: 'bad forward'"),
    ("dict", "forward returned dict, expected a Tensor"),
])
@pytest.mark.parametrize("call", ["eval", "summary", "infer"])
def test_custom_model_errors_name_the_users_code(runs, tmp_path, mode, fragment, call):
    ckpt = rewrite(best(runs["custom"]), tmp_path / "w.safetensors",
                   lambda info: info["config"]["model"]["args"].update(mode=mode))
    code = {"model_code": str(runs["custom"].parents[1] / "net.py")}
    run = {"eval": lambda: api.evaluate_checkpoint(ckpt, **code),
           "summary": lambda: api.summarize(ckpt, **code),
           "infer": lambda: api.predict(np.zeros((2, 64), np.float32), ckpt, **code)}[call]
    with pytest.raises(api.UserModelError, match=f"custom model .*net.py:Net.*{fragment}"):
        run()


# -- strict JSON in eval/report.json (item 10) ---------------------------------------------------
def test_report_json_has_no_bare_nan(runs, tmp_path):
    # an infinite output bias: logits inf - inf = NaN, so the loss is NaN
    run = tmp_path / "run"
    shutil.copytree(runs["digits"], run)
    ckpt = rewrite(best(run), best(run), lambda info: None,
                   weights=lambda k, v: np.full_like(v, np.inf) if k.endswith("2.bias") else v)
    rep = api.evaluate_checkpoint(ckpt)
    text = (run / "eval" / "report.json").read_text()

    def refuse(name):
        raise AssertionError(f"bare {name} in report.json")

    assert json.loads(text, parse_constant=refuse)["loss"] is None
    assert rep["loss"] is None
    json.dumps(rep, allow_nan=False)  # what `eval --json` prints is strict JSON too


# -- weights that cannot serve predictions --------------------------------------------------------
def test_infer_refuses_non_finite_weights(runs, tmp_path):
    ckpt = rewrite(best(runs["digits"]), tmp_path / "w.safetensors", lambda info: None,
                   weights=lambda k, v: np.full_like(v, np.nan) if k == "0.weight" else v)
    with pytest.raises(CheckpointError, match=f"^{ckpt}: its weights hold NaN or infinite values "
                                              r"\(first in '0.weight'\)"):
        api.predict(np.zeros((2, 64), np.float32), ckpt)
    assert api.evaluate_checkpoint(ckpt)["samples"] > 0  # eval reports what such weights do


def test_weights_that_do_not_fit_are_named_on_one_line(runs, tmp_path):
    ckpt = rewrite(best(runs["digits"]), tmp_path / "w.safetensors",
                   lambda info: info["config"]["model"].update(hidden=[32]))
    with pytest.raises(CheckpointError) as exc:
        api.evaluate_checkpoint(ckpt)
    assert str(exc.value) == (
        f"{ckpt}: the weights do not fit the model in its config: shapes differ for 0.weight "
        "(checkpoint [16, 64], model [32, 64]), 0.bias (checkpoint [16], model [32]), 2.weight "
        "(checkpoint [10, 16], model [10, 32])")


def test_eval_never_writes_its_report_through_a_link(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["digits"], run)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "report.json").write_text("someone's file")
    shutil.rmtree(run / "eval", ignore_errors=True)
    (run / "eval").symlink_to(elsewhere)
    rep = api.evaluate_checkpoint(best(run))
    assert rep["accuracy"] > 0 and rep["report_dir"] is None
    assert rep["report_error"].startswith(f"{run / 'eval'} is a symbolic link (to {elsewhere})")
    assert [p.name for p in elsewhere.iterdir()] == ["report.json"]
    assert (elsewhere / "report.json").read_text() == "someone's file"


def test_a_checkpoint_outside_a_run_folder_gets_no_eval_folder(runs, tmp_path):
    ckpt = tmp_path / "downloaded.safetensors"
    shutil.copy(best(runs["digits"]), ckpt)
    rep = api.evaluate_checkpoint(ckpt)
    assert rep["accuracy"] > 0 and rep["report_dir"] is None
    assert rep["report_error"].startswith(f"{ckpt} is not inside a run folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["downloaded.safetensors"]
