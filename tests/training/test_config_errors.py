"""The corpus of bad configs and bad overrides: each problem's file, line, key path and message."""

import pytest

from torchlite.training.config import load_config
from torchlite.training.loader import ConfigError

from ._config_base import BASE, MODEL, sub, write

# -- the corpus of bad configs: (replace, by, line, key path, message fragment) --
BAD_CONFIGS = [
    (
        "  epochs: 3",
        "  epoch: 3",
        20,
        "trainer.epoch",
        "unknown key 'epoch'; did you mean 'epochs'?",
    ),
    ("  epochs: 3", "  epochs: -3", 20, "trainer.epochs", "greater than 0"),
    ("  epochs: 3", "  epochs: 0", 20, "trainer.epochs", "greater than 0"),
    ("  epochs: 3", "  epochs: three", 20, "trainer.epochs", "expected an integer"),
    ("  epochs: 3", "  epochs: 2.5", 20, "trainer.epochs", "expected an integer"),
    ("type: AdamW", "type: Adamw", 17, "optimizer.type", "did you mean 'AdamW'?"),
    (
        "type: AdamW",
        "type: Adom",
        17,
        "optimizer.type",
        "unknown optimizer 'Adom'; did you mean 'Adam'",
    ),
    (
        "{type: ReLU}",
        "{type: Relu}",
        14,
        "model.layers.1.type",
        "unknown layer 'Relu'; did you mean 'ReLU'?",
    ),
    (
        "{type: ReLU}",
        "{type: StepLR}",
        14,
        "model.layers.1.type",
        "'StepLR' is a scheduler, not a layer",
    ),
    (
        "type: CrossEntropyLoss",
        "type: CrossEntropy",
        16,
        "loss.type",
        "did you mean 'CrossEntropyLoss'?",
    ),
    ("type: StepLR", "type: StepLr", 18, "scheduler.type", "did you mean 'StepLR'?"),
    ("type: StepLR", "type: LambdaLR", 18, "scheduler.type", "needs a Python function"),
    (
        "device: auto",
        "device: gpu",
        3,
        "device",
        "expected auto, cpu, cuda or cuda:N, got 'gpu'; did you mean 'cuda'?",
    ),
    ("device: auto", "device: cuda:x", 3, "device", "expected auto, cpu, cuda or cuda:N"),
    ("normalize: standard", "normalize: standrd", 9, "data.normalize", "did you mean 'standard'?"),
    (
        "type: sequential",
        "type: sequentail",
        11,
        "model.type",
        "unknown type 'sequentail'; did you mean 'sequential'?",
    ),
    ("  type: sequential\n", "", 10, "model.type", "missing 'type': one of sequential, custom"),
    (
        "dataset: digits",
        "dataset: digit",
        5,
        "data.dataset",
        "unknown dataset 'digit'; did you mean 'digits'?",
    ),
    (
        "metrics: [accuracy, f1_macro]",
        "metrics: [accuracy, f1macro]",
        23,
        "metrics.1",
        "did you mean 'f1_macro'?",
    ),
    (
        "metrics: [accuracy, f1_macro]",
        "metrics: [accuracy, accuracy]",
        23,
        "metrics.1",
        "listed twice",
    ),
    (
        "metrics: [accuracy, f1_macro]",
        "metrics: [accuracy, f1_macro, r2]",
        23,
        "metrics.2",
        "'r2' is a regression metric but the task is classification",
    ),
    (
        "monitor: val/accuracy",
        "monitor: val/acc",
        22,
        "trainer.checkpoint.monitor",
        "did you mean 'val/accuracy'?",
    ),
    ("monitor: val/accuracy", "monitor: val/r2", 22, "trainer.checkpoint.monitor", "is not logged"),
    (
        "val_split: 0.1",
        "val_split: 0.0",
        21,
        "trainer.early_stopping.monitor",
        "needs validation data",
    ),
    (
        "val_split: 0.1",
        "val_split: 0.9",
        7,
        "data.test_split",
        "val_split + test_split must be < 1",
    ),
    ("val_split: 0.1", "val_split: 1.5", 6, "data.val_split", "less than 1"),
    (
        "mode: max",
        "mode: maximum",
        22,
        "trainer.checkpoint.mode",
        "expected 'min' or 'max', got 'maximum'; did you mean 'max'?",
    ),
    (
        "  dataset: digits\n",
        "  dataset: digits\n  x_key: images\n",
        6,
        "data.x_key",
        "only used by dataset npz",
    ),
    ("dataset: digits", "dataset: npz", 4, "data.path", "reads a file: set data.path"),
    (
        "output: {root: runs}",
        "output: {root: runs}\noutputs: 1",
        25,
        "outputs",
        "unknown key 'outputs'; did you mean 'output'?",
    ),
    ("name: t", "name: my run/1", 1, "name", "not a usable folder name"),
    ("batch_size: 32", "batch_size: 0", 8, "data.batch_size", "greater than 0"),
    ("batch_size: 32", "batch_size: [32]", 8, "data.batch_size", "expected an integer"),
    ("seed: 0", "seed: 0\nseed: 1", 3, "seed", "duplicate key 'seed' (first defined on line 2)"),
    ("seed: 0", "seed: -1", 2, "seed", "greater than or equal to 0"),
    (
        "patience: 2",
        "patience: !!python/object/apply:os.system [ls]",
        21,
        "trainer.early_stopping.patience",
        "YAML tag '!!python/object/apply:os.system' is not allowed",
    ),
    (
        "in_features: 64, out_features: 32",
        "in features: 64",
        13,
        "model.layers.0.in features",
        "not a valid argument name",
    ),
    ("  layers:\n", "  layers: []\n  old:\n", 12, "model.layers", "at least 1 item"),
    (
        "type: sequential",
        "type: mlp",
        12,
        "model.layers",
        "unknown key 'layers' (allowed: type, in_features, hidden",
    ),
    ("lr: 1e-3", "lr: fast", 17, "optimizer.lr", "lr must be a number >= 0, got 'fast'"),
    ("lr: 1e-3", "lr: -0.1", 17, "optimizer.lr", "lr must be a number >= 0"),
    ("  epochs: 3\n", "  epochs: 3\n  grad_clip: 0\n", 21, "trainer.grad_clip", "greater than 0"),
    (
        "  epochs: 3\n",
        "  epochs: 3\n  final_weights: best_one\n",
        21,
        "trainer.final_weights",
        "expected 'best' or 'last'",
    ),
    (
        "step_size: 5}",
        "step_size: 5, monitor: val/loss}",
        18,
        "scheduler.monitor",
        "only used by ReduceLROnPlateau",
    ),
    ("trainer:\n", "trainer: 5\nx:\n", 19, "trainer", "expected a mapping of keys, got int 5"),
    ("loss: {type: CrossEntropyLoss}\n", "", 1, "loss", "missing required key 'loss'"),
    (
        "data:\n  dataset: digits",
        "data:\n  dataset: digits\n  normalize: none",
        10,
        "data.normalize",
        "duplicate key 'normalize' (first defined on line 6)",
    ),
    ("  epochs: 3", "  epochs: 3\n\tgrad_clip: 1", 21, "", "spaces, not tabs"),
    ("loss: {type: CrossEntropyLoss}", "loss: {type: CrossEntropyLoss", 17, "", "invalid YAML"),
    (
        MODEL,
        "  type: custom\n  target: nowhere.py:Net\n",
        12,
        "model.target",
        "file not found: nowhere.py",
    ),
    (
        MODEL,
        "  type: custom\n  target: just_a_name\n",
        12,
        "model.target",
        "expected 'path/to/file.py:ClassName'",
    ),
    (
        MODEL,
        "  type: resnet\n  widths: [8, 16]\n",
        10,
        "model",
        "widths (2 stages) and blocks (3 stages)",
    ),
    (
        MODEL,
        "  type: mlp\n  activation: Linear\n",
        12,
        "model.activation",
        "unknown activation 'Linear'",
    ),
]


@pytest.mark.parametrize(
    "old, new, line, path, fragment",
    BAD_CONFIGS,
    ids=[f"{i}-{c[3] or 'yaml'}" for i, c in enumerate(BAD_CONFIGS)],
)
def test_bad_config_corpus(tmp_path, old, new, line, path, fragment):
    cfg_path = write(tmp_path, sub(old, new))
    with pytest.raises(ConfigError) as info:
        load_config(cfg_path)
    problems = info.value.problems
    match = [p for p in problems if fragment in p.message]
    assert match, f"no problem with {fragment!r} in:\n{info.value}"
    p = match[0]
    assert (p.file, p.line, p.path) == (str(cfg_path), line, path), str(p)
    expected = f"{cfg_path}:{line}: " + (f"{path}: " if path else "")
    assert str(p).startswith(expected)
    assert "Traceback" not in str(info.value) and "pydantic" not in str(info.value)


BAD_OVERRIDES = [
    ("trainer.epoch=3", "trainer.epoch", "unknown key 'epoch'; did you mean 'epochs'?"),
    ("trainr.epochs=3", "trainr", "unknown key 'trainr'; did you mean 'trainer'?"),
    ("optimizer.type=Adamw", "optimizer.type", "did you mean 'AdamW'?"),
    (
        "model.layers.9.out_features=3",
        "model.layers.9",
        "index 9 out of range: model.layers has 3 items",
    ),
    ("model.layers.first.p=1", "model.layers.first", "model.layers is a list"),
    ("optimizer.lr.value=1", "optimizer.lr.value", "not a section"),
    ("optimizer.lr=abc", "optimizer.lr", "lr must be a number >= 0, got 'abc'"),
    ("trainer.epochs=0", "trainer.epochs", "greater than 0"),
    ("trainer.epochs=[1, 2]", "trainer.epochs", "expected an integer"),
    ("device=tpu", "device", "expected auto, cpu, cuda or cuda:N"),
    ("data.val_split=2", "data.val_split", "less than 1"),
    ("metrics=[accuracy, rmse]", "metrics.1", "regression metric"),
    ("trainer.epochs", "", "expected KEY.PATH=VALUE"),
    ("trainer..epochs=3", "trainer..epochs", "bad key path"),
    ("trainer.epochs=[3", "trainer.epochs", "bad value"),
    ("name=!!python/name:os.system", "name", "is not allowed"),
    ("scheduler.type=Cosine", "scheduler.type", "did you mean 'CosineAnnealingLR'"),
]


@pytest.mark.parametrize(
    "override, path, fragment", BAD_OVERRIDES, ids=[o[0] for o in BAD_OVERRIDES]
)
def test_bad_override_corpus(tmp_path, override, path, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, BASE), ["seed=1", override])
    match = [p for p in info.value.problems if fragment in p.message]
    assert match, f"no problem with {fragment!r} in:\n{info.value}"
    p = match[0]
    assert p.file == f"override '{override}'" and p.line is None and p.path == path
    assert str(p).startswith(f"override '{override}': ")


def test_corpus_size():
    assert len(BAD_CONFIGS) + len(BAD_OVERRIDES) >= 30


def test_several_problems_reported_at_once(tmp_path):
    text = sub("  epochs: 3", "  epochs: -1").replace("type: AdamW", "type: Adamw")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), ["data.batch_size=0"])
    msgs = str(info.value).splitlines()
    assert len(msgs) == 3
    assert any(":20: trainer.epochs:" in m for m in msgs)
    assert any(m.startswith("override 'data.batch_size=0': data.batch_size:") for m in msgs)
