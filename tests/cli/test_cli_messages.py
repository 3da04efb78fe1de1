"""One clear line for files of the wrong kind (a config, a NumPy file or a zip given as a
checkpoint or dataset), for errors in a custom model's own code during train/validate, and for
command arguments that do not fit (--split, --probs, --key, a folder as input, --threads)."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import NET
from torchlite_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()

CONFIG = """\
name: {name}
seed: 0
device: cpu
data: {{dataset: digits, val_split: {val}, test_split: 0.2, batch_size: 128,
       input_shape: [64]}}
model: {model}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 1, checkpoint: {{monitor: train/loss, mode: min}}, early_stopping: null}}
output: {{root: {root}}}
"""
MLP = "{type: mlp, hidden: [16]}"



def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def write_config(tmp: Path, name="tiny", model=MLP, val=0.2) -> Path:
    p = tmp / f"{name}.yaml"
    p.write_text(CONFIG.format(name=name, model=model, val=val, root=tmp / "runs"))
    return p


def error_line(r, code: int) -> str:
    assert r.exit_code == code, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, r.output
    assert "internal error" not in lines[0] and "Traceback" not in r.output
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A trained classification run without a validation split."""
    tmp = tmp_path_factory.mktemp("msg")
    r = cli("train", write_config(tmp, val=0), "--plain")
    assert r.exit_code == 0, r.output
    return tmp / "runs" / "tiny"


# -- files of the wrong kind (item 1) ------------------------------------------------------------
def test_a_config_given_as_checkpoint_is_named_as_text(run, tmp_path):
    cfg = run / "config.yaml"
    line = error_line(cli("eval", cfg), 3)
    assert line == f"error: {cfg}: not a safetensors checkpoint (it looks like a YAML/text file)"
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.float32))
    line = error_line(cli("infer", tmp_path / "x.npy", "--checkpoint", cfg), 3)
    assert "it looks like a YAML/text file" in line and "header size" not in line


def test_summary_reads_a_config_whatever_the_case_of_its_extension(tmp_path):
    p = tmp_path / "UP.YAML"
    p.write_text(write_config(tmp_path).read_text())
    r = cli("summary", p)
    assert r.exit_code == 0, r.output
    assert "Linear" in r.output


@pytest.mark.parametrize("name, save, expected", [
    ("data.npz", lambda p: np.savez(p, x=np.zeros((2, 64)), y=np.zeros(2)),
     "not a safetensors checkpoint (a NumPy .npz archive)"),
    ("inputs.npy", lambda p: np.save(p, np.zeros((2, 64))),
     "not a safetensors checkpoint (a NumPy .npy array)"),
    ("notes.zip", lambda p: zipfile.ZipFile(p, "w").writestr("readme.txt", "hi"),
     "not a safetensors checkpoint (a zip archive)"),
])
def test_numpy_and_zip_files_given_as_checkpoint(tmp_path, name, save, expected):
    p = tmp_path / name
    save(p)
    for command in ("summary", "eval"):
        line = error_line(cli(command, p), 3)
        assert line == f"error: {p}: {expected}"
        assert "pickle" not in line


@pytest.mark.parametrize("name, make", [
    ("model.pt", lambda p: p.write_bytes(pickle.dumps({"w": [1, 2]}))),
    ("model.pth", lambda p: zipfile.ZipFile(p, "w").writestr("archive/data.pkl", b"\x80\x02.")),
])
def test_real_pickles_and_pytorch_archives_keep_the_conversion_hint(tmp_path, name, make):
    p = tmp_path / name
    make(p)
    line = error_line(cli("summary", p), 3)
    assert "pickle or a PyTorch .pt/.pth archive" in line
    assert "safetensors.torch.save_file" in line


def test_a_config_given_as_a_dataset_file_names_the_expected_format(tmp_path):
    cfg = write_config(tmp_path)
    other = write_config(tmp_path, name="other")
    r = cli("validate", cfg, "data.dataset=mnist", f"data.path={other}")
    line = error_line(r, 3)
    assert line.startswith(f"error: {other}: not a NumPy .npz archive (it looks like a "
                           "YAML/text file)")
    assert "IDX" in line and "allow_pickle" not in r.output
    r = cli("validate", cfg, "data.dataset=npz", f"data.path={other}")
    assert error_line(r, 3) == f"error: {other}: not a NumPy .npz archive (it looks like a " \
                               "YAML/text file)"


def test_npz_without_targets_names_the_config_key(tmp_path):
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((20, 64), np.float32), labels=np.arange(20) % 2)
    r = cli("validate", write_config(tmp_path), "data.dataset=npz", f"data.path={data}")
    line = error_line(r, 3)
    assert line == f"error: {data}: no array 'y' for the targets; the file has labels, x; set " \
                   "data.y_key to the name of the targets array"
    assert "targets=" not in line
    r = cli("validate", write_config(tmp_path), "data.dataset=npz", f"data.path={data}",
            "data.y_key=labels")
    assert r.exit_code == 0, r.output


# -- a custom model's own code in train and validate (item 3) -------------------------------------
@pytest.fixture
def custom(tmp_path) -> Path:
    (tmp_path / "net.py").write_text(NET)
    return write_config(tmp_path, name="custom", model=f"{{type: custom, target: "
                        f"'{tmp_path / 'net.py'}:Net', args: {{mode: ok}}}}")


@pytest.mark.parametrize("mode, fragment", [
    ("boom", "failed in its own code (__init__): RuntimeError: boom in init"),
    ("fail", "failed in its own code (forward): KeyError: 'bad forward' (input samples of "
             "shape [64])"),
    ("dict", "forward returned dict, expected a Tensor"),
])
@pytest.mark.parametrize("command", ["train", "validate", "summary"])
def test_custom_model_errors_are_config_errors(custom, tmp_path, command, mode, fragment):
    if command == "summary":  # (summary takes no overrides)
        custom.write_text(custom.read_text().replace("mode: ok", f"mode: {mode}"))
        fragment = fragment.replace(" (input samples of shape [64])", "")
    r = cli(command, custom, *([] if command == "summary" else [f"model.args.mode={mode}"]))
    line = error_line(r, 2)
    assert line.startswith(f"error: {custom}:6: model.target: the custom model "
                           f"{tmp_path / 'net.py'}:Net")
    assert line.endswith(fragment)
    assert not (tmp_path / "runs").exists()  # found before the run folder is made


def test_custom_model_failing_only_in_training_mode(custom, tmp_path):
    assert cli("validate", custom, "model.args.mode=train_only").exit_code == 0
    line = error_line(cli("train", custom, "model.args.mode=train_only", "--plain"), 2)
    assert line.endswith("failed in its own code (forward): RuntimeError: only when training")


def test_out_of_memory_in_a_custom_model_is_not_blamed_on_its_code(custom):
    r = cli("validate", custom, "model.args.mode=oom")
    assert r.exit_code == 1, r.output
    assert "out of host memory" in r.output and "custom model" not in r.output


# -- command arguments that do not fit (item 4) ---------------------------------------------------
def test_eval_split_the_run_lacks_is_a_usage_error(run):
    line = error_line(cli("eval", run, "--split", "val"), 2)
    assert line == "error: --split val: the run's dataset has no val split (data.val_split is " \
                   "0 in its config); its splits are train, test"


def test_infer_on_a_folder(run, tmp_path):
    assert error_line(cli("infer", tmp_path, "--checkpoint", run), 3) == \
        f"error: {tmp_path} is a folder, not an input file (.npy, .npz or .csv)"


def test_key_on_a_npy_input_is_a_usage_error(run, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.float32))
    line = error_line(cli("infer", tmp_path / "x.npy", "--checkpoint", run, "--key", "x"), 2)
    assert line == f"error: --key x: {tmp_path / 'x.npy'} is not an .npz archive; --key names " \
                   "an array inside one"


def test_probs_on_a_regression_checkpoint_is_a_usage_error(tmp_path):
    cfg = tmp_path / "reg.yaml"
    cfg.write_text(f"""\
name: reg
device: cpu
data: {{dataset: regression, n_samples: 100, n_features: 4, batch_size: 32}}
model: {{type: mlp, hidden: [8]}}
loss: {{type: MSELoss}}
optimizer: {{type: Adam}}
trainer: {{epochs: 1}}
metrics: [mse]
output: {{root: {tmp_path / 'runs'}}}
""")
    assert cli("train", cfg, "--plain").exit_code == 0
    np.save(tmp_path / "x.npy", np.zeros((3, 4), np.float32))
    ckpt = tmp_path / "runs" / "reg"
    line = error_line(cli("infer", tmp_path / "x.npy", "--checkpoint", ckpt, "--probs"), 2)
    assert line.startswith("error: --probs: ") and "is a regression model" in line
    assert cli("infer", tmp_path / "x.npy", "--checkpoint", ckpt, "--output",
               tmp_path / "p.csv").exit_code == 0


def test_bench_threads_above_the_cpu_count_reports_the_threads_used(monkeypatch):
    from torchlite.benchmark import _runner

    monkeypatch.setattr(_runner, "cpu_count", lambda: 1)
    r = cli("bench", "--suite", "optim", "--quick", "--repeat", "2", "--no-torch",
            "--threads", "3", "--json")
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)["machine"]
    assert (m["threads"], m["threads_requested"], m["torchlite_threads"]) == (1, 3, 1)
