"""The config schema, load_config, name tables, and the corpus of bad configs and overrides."""

import json
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from torchlite.training import registry
from torchlite.training.config import Config, CustomModel, load_config, validate_config
from torchlite.training.loader import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))

BASE = textwrap.dedent("""\
    name: t
    seed: 0
    device: auto
    data:
      dataset: digits
      val_split: 0.1
      test_split: 0.2
      batch_size: 32
      normalize: standard
    model:
      type: sequential
      layers:
        - {type: Linear, in_features: 64, out_features: 32}
        - {type: ReLU}
        - {type: Linear, in_features: 32, out_features: 10}
    loss: {type: CrossEntropyLoss}
    optimizer: {type: AdamW, lr: 1e-3}
    scheduler: {type: StepLR, step_size: 5}
    trainer:
      epochs: 3
      early_stopping: {monitor: val/loss, patience: 2}
      checkpoint: {monitor: val/accuracy, mode: max}
    metrics: [accuracy, f1_macro]
    output: {root: runs}
""")
# line numbers in BASE: 1 name, 3 device, 5 dataset, 9 normalize, 11 model.type, 13-15 layers,
# 16 loss, 17 optimizer, 18 scheduler, 20 epochs, 21 early_stopping, 22 checkpoint, 23 metrics


def write(tmp_path, text: str, name: str = "cfg.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def sub(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


# -- the shipped examples -----------------------------------------------------------------------
@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_example_config_validates(path):
    cfg, raw = load_config(path)
    assert cfg.name == path.stem and raw["name"] == path.stem
    assert cfg.trainer.epochs >= 1 and cfg.metrics


def test_examples_cover_the_issue():
    names = {p.stem for p in CONFIGS}
    assert {"digits_mlp", "digits_cnn", "regression", "custom_model", "mnist_mlp",
            "mnist_lenet"} <= names
    cfgs = [load_config(p)[0] for p in CONFIGS]
    assert any(c.scheduler and c.trainer.early_stopping for c in cfgs)
    assert {c.model.type for c in cfgs} >= {"sequential", "custom", "mlp", "lenet5"}
    for p in CONFIGS:
        if p.stem.startswith("mnist"):
            head = p.read_text().splitlines()[0]
            assert "MNIST" in head and "NEEDS THE MNIST FILES" in p.read_text()


def test_quickstart_config_matches_the_issue():
    cfg, _ = load_config(ROOT / "configs" / "digits_mlp.yaml")
    assert cfg.data.dataset == "digits" and cfg.data.normalize == "standard"
    assert (cfg.optimizer.type, cfg.optimizer.kwargs["lr"]) == ("AdamW", 1e-3)
    assert cfg.trainer.epochs == 30 and cfg.model.type == "sequential"


def test_custom_model_target_is_made_absolute():
    cfg, raw = load_config(ROOT / "configs" / "custom_model.yaml")
    assert isinstance(cfg.model, CustomModel)
    file_part, _, cls = cfg.model.target.rpartition(":")
    assert Path(file_part).is_absolute() and Path(file_part).is_file() and cls == "TinyNet"
    assert raw["model"]["target"] == "models/tiny_net.py:TinyNet"


def test_json_schema():
    schema = Config.model_json_schema()
    text = json.dumps(schema)
    assert "CrossEntropyLoss" in text and "AdamW" in text and "sequential" in text
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["TrainerConfig"]["additionalProperties"] is False


# -- defaults and resolution ------------------------------------------------------------------------
def test_defaults_are_resolved(tmp_path):
    text = sub("  early_stopping: {monitor: val/loss, patience: 2}\n"
               "  checkpoint: {monitor: val/accuracy, mode: max}\n",
               "  early_stopping: {monitor: val/f1_macro}\n")
    cfg, _ = load_config(write(tmp_path, text.replace("name: t\n", ""), "my run.yaml"))
    assert cfg.name == "my_run"
    assert cfg.trainer.early_stopping.mode == "max" and cfg.trainer.early_stopping.patience == 10
    assert (cfg.trainer.checkpoint.monitor, cfg.trainer.checkpoint.mode) == ("val/loss", "min")
    assert cfg.scheduler.interval == "epoch" and cfg.scheduler.kwargs == {"step_size": 5}
    assert cfg.model.layers[0].kwargs == {"in_features": 64, "out_features": 32}
    assert cfg.logged_names()[:2] == ["train/loss", "train/accuracy"]
    assert cfg.metric_columns() == ["epoch", "step", "time_s", "lr", "train/loss",
                                    "train/accuracy", "train/f1_macro", "val/loss",
                                    "val/accuracy", "val/f1_macro"]


def test_without_validation_monitors_fall_back_to_train(tmp_path):
    text = sub("val_split: 0.1", "val_split: 0").replace(
        "  early_stopping: {monitor: val/loss, patience: 2}\n"
        "  checkpoint: {monitor: val/accuracy, mode: max}\n", "  early_stopping: {}\n")
    cfg, _ = load_config(write(tmp_path, text))
    assert cfg.trainer.early_stopping.monitor == "train/loss"
    assert cfg.trainer.checkpoint.monitor == "train/loss"
    assert "val/loss" not in cfg.metric_columns()


def test_step_schedulers_default_to_step_interval(tmp_path):
    cfg, _ = load_config(write(tmp_path, BASE), ["scheduler={type: OneCycleLR, max_lr: 0.1}"])
    assert cfg.scheduler.interval == "step"
    cfg, _ = load_config(write(tmp_path, BASE), ["scheduler={type: ReduceLROnPlateau}"])
    assert cfg.scheduler.monitor == "val/loss" and cfg.scheduler.interval == "epoch"


def test_overrides_apply(tmp_path):
    cfg, raw = load_config(write(tmp_path, BASE), [
        "optimizer.lr=0.01", "trainer.epochs=7", "model.layers.0.out_features=256",
        "data.batch_size=8", "metrics=[accuracy]", "trainer.checkpoint.monitor=val/loss",
        "seed=3"])
    assert cfg.optimizer.kwargs["lr"] == 0.01 and cfg.trainer.epochs == 7
    assert cfg.model.layers[0].kwargs["out_features"] == 256 and raw["seed"] == 3
    assert cfg.data.batch_size == 8 and cfg.metrics == ["accuracy"]
    assert cfg.source.locate(("trainer", "epochs"))[0] == "override 'trainer.epochs=7'"
    assert cfg.source.locate(("loss", "type")) == (str(tmp_path / "cfg.yaml"), 16)


def test_resolved_config_round_trips(tmp_path):
    from torchlite.training.loader import dump_yaml

    cfg, _ = load_config(write(tmp_path, BASE))
    dumped = cfg.model_dump(mode="json")
    again, _ = load_config(write(tmp_path, dump_yaml(dumped), "resolved.yaml"))
    assert again.model_dump(mode="json") == dumped


def test_direct_model_validate_runs_cross_checks():
    data, _ = __import__("torchlite.training.loader", fromlist=["x"]).load_yaml(
        sub("val_split: 0.1", "val_split: 0.9"))
    with pytest.raises(ValidationError, match="val_split \\+ test_split must be < 1"):
        Config.model_validate(data)


def test_validate_config_of_dict_and_non_dict():
    from torchlite.training.loader import load_yaml

    data, _ = load_yaml(BASE)
    assert validate_config(data).name == "t"
    with pytest.raises(ConfigError, match="must be a mapping of sections"):
        validate_config([1, 2])


@pytest.mark.parametrize(
    "content, fragment",
    [(b"", "config file is empty"), (b"# nothing\n", "config file is empty"),
     (b"\xff\xfe\x00bad", "not UTF-8 text"), (b"- a\n- b\n", "must be a mapping of sections")],
)
def test_unreadable_files(tmp_path, content, fragment):
    p = tmp_path / "c.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError, match=fragment):
        load_config(p)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


MODEL = BASE[BASE.index("  type: sequential"):BASE.index("loss:")]

# -- the corpus of bad configs: (replace, by, line, key path, message fragment) ----------------
BAD_CONFIGS = [
    ("  epochs: 3", "  epoch: 3", 20, "trainer.epoch", "unknown key 'epoch'; did you mean 'epochs'?"),
    ("  epochs: 3", "  epochs: -3", 20, "trainer.epochs", "greater than 0"),
    ("  epochs: 3", "  epochs: 0", 20, "trainer.epochs", "greater than 0"),
    ("  epochs: 3", "  epochs: three", 20, "trainer.epochs", "valid integer"),
    ("  epochs: 3", "  epochs: 2.5", 20, "trainer.epochs", "valid integer"),
    ("type: AdamW", "type: Adamw", 17, "optimizer.type", "did you mean 'AdamW'?"),
    ("type: AdamW", "type: Adom", 17, "optimizer.type", "unknown optimizer 'Adom'; did you mean 'Adam'"),
    ("{type: ReLU}", "{type: Relu}", 14, "model.layers.1.type", "unknown layer 'Relu'; did you mean 'ReLU'?"),
    ("{type: ReLU}", "{type: StepLR}", 14, "model.layers.1.type", "'StepLR' is a scheduler, not a layer"),
    ("type: CrossEntropyLoss", "type: CrossEntropy", 16, "loss.type", "did you mean 'CrossEntropyLoss'?"),
    ("type: StepLR", "type: StepLr", 18, "scheduler.type", "did you mean 'StepLR'?"),
    ("type: StepLR", "type: LambdaLR", 18, "scheduler.type", "needs a Python function"),
    ("device: auto", "device: gpu", 3, "device", "expected auto, cpu, cuda or cuda:N, got 'gpu'; did you mean 'cuda'?"),
    ("device: auto", "device: cuda:x", 3, "device", "expected auto, cpu, cuda or cuda:N"),
    ("normalize: standard", "normalize: standrd", 9, "data.normalize", "did you mean 'standard'?"),
    ("type: sequential", "type: sequentail", 11, "model.type", "unknown type 'sequentail'; did you mean 'sequential'?"),
    ("  type: sequential\n", "", 10, "model.type", "missing 'type': one of sequential, custom"),
    ("dataset: digits", "dataset: digit", 5, "data.dataset", "unknown dataset 'digit'; did you mean 'digits'?"),
    ("metrics: [accuracy, f1_macro]", "metrics: [accuracy, f1macro]", 23, "metrics.1", "did you mean 'f1_macro'?"),
    ("metrics: [accuracy, f1_macro]", "metrics: [accuracy, accuracy]", 23, "metrics.1", "listed twice"),
    ("metrics: [accuracy, f1_macro]", "metrics: [accuracy, f1_macro, r2]", 23, "metrics.2", "'r2' is a regression metric but the task is classification"),
    ("monitor: val/accuracy", "monitor: val/acc", 22, "trainer.checkpoint.monitor", "did you mean 'val/accuracy'?"),
    ("monitor: val/accuracy", "monitor: val/r2", 22, "trainer.checkpoint.monitor", "is not logged"),
    ("val_split: 0.1", "val_split: 0.0", 21, "trainer.early_stopping.monitor", "needs validation data"),
    ("val_split: 0.1", "val_split: 0.9", 7, "data.test_split", "val_split + test_split must be < 1"),
    ("val_split: 0.1", "val_split: 1.5", 6, "data.val_split", "less than 1"),
    ("mode: max", "mode: maximum", 22, "trainer.checkpoint.mode", "expected 'min' or 'max', got 'maximum'; did you mean 'max'?"),
    ("  dataset: digits\n", "  dataset: digits\n  x_key: images\n", 6, "data.x_key", "only used by dataset npz"),
    ("dataset: digits", "dataset: npz", 4, "data.path", "reads a file: set data.path"),
    ("output: {root: runs}", "output: {root: runs}\noutputs: 1", 25, "outputs", "unknown key 'outputs'; did you mean 'output'?"),
    ("name: t", "name: my run/1", 1, "name", "not a usable folder name"),
    ("batch_size: 32", "batch_size: 0", 8, "data.batch_size", "greater than 0"),
    ("batch_size: 32", "batch_size: [32]", 8, "data.batch_size", "valid integer"),
    ("seed: 0", "seed: 0\nseed: 1", 3, "seed", "duplicate key 'seed' (first defined on line 2)"),
    ("seed: 0", "seed: -1", 2, "seed", "greater than or equal to 0"),
    ("patience: 2", "patience: !!python/object/apply:os.system [ls]", 21, "trainer.early_stopping.patience", "YAML tag '!!python/object/apply:os.system' is not allowed"),
    ("in_features: 64, out_features: 32", "in features: 64", 13, "model.layers.0.in features", "not a valid argument name"),
    ("  layers:\n", "  layers: []\n  old:\n", 12, "model.layers", "at least 1 item"),
    ("type: sequential", "type: mlp", 12, "model.layers", "unknown key 'layers' (allowed: type, in_features, hidden"),
    ("lr: 1e-3", "lr: fast", 17, "optimizer.lr", "lr must be a number >= 0, got 'fast'"),
    ("lr: 1e-3", "lr: -0.1", 17, "optimizer.lr", "lr must be a number >= 0"),
    ("  epochs: 3\n", "  epochs: 3\n  grad_clip: 0\n", 21, "trainer.grad_clip", "greater than 0"),
    ("  epochs: 3\n", "  epochs: 3\n  final_weights: best_one\n", 21, "trainer.final_weights", "expected 'best' or 'last'"),
    ("step_size: 5}", "step_size: 5, monitor: val/loss}", 18, "scheduler.monitor", "only used by ReduceLROnPlateau"),
    ("trainer:\n", "trainer: 5\nx:\n", 19, "trainer", "expected a mapping of keys, got int 5"),
    ("loss: {type: CrossEntropyLoss}\n", "", 1, "loss", "missing required key 'loss'"),
    ("data:\n  dataset: digits", "data:\n  dataset: digits\n  normalize: none", 10, "data.normalize", "duplicate key 'normalize' (first defined on line 6)"),
    ("  epochs: 3", "  epochs: 3\n\tgrad_clip: 1", 21, "", "spaces, not tabs"),
    ("loss: {type: CrossEntropyLoss}", "loss: {type: CrossEntropyLoss", 17, "", "invalid YAML"),
    (MODEL, "  type: custom\n  target: nowhere.py:Net\n", 12, "model.target", "file not found: nowhere.py"),
    (MODEL, "  type: custom\n  target: just_a_name\n", 12, "model.target", "expected 'path/to/file.py:ClassName'"),
    (MODEL, "  type: resnet\n  widths: [8, 16]\n", 10, "model", "widths (2 stages) and blocks (3 stages)"),
    (MODEL, "  type: mlp\n  activation: Linear\n", 12, "model.activation", "unknown activation 'Linear'"),
]


@pytest.mark.parametrize("old, new, line, path, fragment", BAD_CONFIGS,
                         ids=[f"{i}-{c[3] or 'yaml'}" for i, c in enumerate(BAD_CONFIGS)])
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
    ("model.layers.9.out_features=3", "model.layers.9", "index 9 out of range: model.layers has 3 items"),
    ("model.layers.first.p=1", "model.layers.first", "model.layers is a list"),
    ("optimizer.lr.value=1", "optimizer.lr.value", "not a section"),
    ("optimizer.lr=abc", "optimizer.lr", "lr must be a number >= 0, got 'abc'"),
    ("trainer.epochs=0", "trainer.epochs", "greater than 0"),
    ("trainer.epochs=[1, 2]", "trainer.epochs", "valid integer"),
    ("device=tpu", "device", "expected auto, cpu, cuda or cuda:N"),
    ("data.val_split=2", "data.val_split", "less than 1"),
    ("metrics=[accuracy, rmse]", "metrics.1", "regression metric"),
    ("trainer.epochs", "", "expected KEY.PATH=VALUE"),
    ("trainer..epochs=3", "trainer..epochs", "bad key path"),
    ("trainer.epochs=[3", "trainer.epochs", "bad value"),
    ("name=!!python/name:os.system", "name", "is not allowed"),
    ("scheduler.type=Cosine", "scheduler.type", "did you mean 'CosineAnnealingLR'"),
]


@pytest.mark.parametrize("override, path, fragment", BAD_OVERRIDES,
                         ids=[o[0] for o in BAD_OVERRIDES])
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


# -- registry ---------------------------------------------------------------------------------------
ISSUE_LAYERS = (
    "Identity Flatten Unflatten Linear Bilinear Dropout Dropout1d Dropout2d BatchNorm1d "
    "BatchNorm2d LayerNorm GroupNorm InstanceNorm2d Embedding ReLU ReLU6 LeakyReLU PReLU ELU SELU "
    "CELU GELU SiLU Mish Sigmoid Tanh Softplus Softsign Hardtanh Hardsigmoid Hardswish Softmax "
    "LogSoftmax Threshold Conv1d Conv2d ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d AvgPool2d "
    "AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool2d Upsample RNN LSTM GRU RNNCell "
    "LSTMCell GRUCell MultiheadAttention TransformerEncoderLayer"
).split()
ISSUE_LOSSES = ("MSELoss L1Loss SmoothL1Loss HuberLoss CrossEntropyLoss NLLLoss BCELoss "
                "BCEWithLogitsLoss KLDivLoss").split()
ISSUE_OPTIMIZERS = ("SGD Adam AdamW Adagrad RMSprop Adadelta Adamax NAdam RAdam SparseAdam ASGD "
                    "Rprop LBFGS").split()
ISSUE_SCHEDULERS = ("StepLR MultiStepLR ExponentialLR ConstantLR LinearLR PolynomialLR "
                    "CosineAnnealingLR CosineAnnealingWarmRestarts CyclicLR OneCycleLR "
                    "SequentialLR ChainedScheduler ReduceLROnPlateau").split()


def test_tables_hold_every_name_of_the_issues():
    assert set(ISSUE_LAYERS) <= set(registry.LAYERS)
    assert set(ISSUE_LOSSES) <= set(registry.LOSSES)
    assert set(ISSUE_OPTIMIZERS) == set(registry.OPTIMIZERS)
    assert set(ISSUE_SCHEDULERS) == set(registry.SCHEDULERS)
    assert set(registry.DATASETS) == {"digits", "mnist", "fashion_mnist", "npz", "npy", "csv",
                                      "blobs", "moons", "spirals", "regression"}
    assert set(registry.MODELS) == {"mlp", "lenet5", "resnet"}
    assert set(registry.ACTIVATIONS) <= set(registry.LAYERS)
    for table in (registry.LAYERS, registry.LOSSES, registry.OPTIMIZERS, registry.SCHEDULERS):
        assert all(":" in target for target in table.values())


def test_check_name_and_messages():
    assert registry.check_name("optimizer", "SGD") == "SGD"
    with pytest.raises(ValueError, match="did you mean 'AdamW'"):
        registry.check_name("optimizer", "adamw")
    with pytest.raises(ValueError, match="'CrossEntropyLoss' is a loss, not a layer"):
        registry.check_name("layer", "CrossEntropyLoss")
    assert "expected one of" in registry.unknown_name_message("model", "transformer")
    assert "LambdaLR needs a Python function" in registry.unknown_name_message("scheduler",
                                                                               "LambdaLR")


@pytest.mark.parametrize("kind", ["metric", "dataset"])
def test_registered_targets_import(kind):
    for name in registry.names(kind):
        assert callable(registry.resolve(kind, name)), name


def test_import_object_from_file_and_module(tmp_path):
    (tmp_path / "mod_a.py").write_text("class Net:\n    pass\n\nVALUE = 3\n")
    net = registry.import_object("mod_a.py:Net", base_dir=tmp_path)
    assert net.__name__ == "Net"
    assert registry.import_object(f"{tmp_path / 'mod_a.py'}:VALUE") == 3
    assert registry.import_object("json:dumps") is json.dumps
    with pytest.raises(registry.RegistryError, match="did you mean 'Net'"):
        registry.import_object("mod_a.py:Nett", base_dir=tmp_path)
    with pytest.raises(registry.RegistryError, match="model file not found"):
        registry.import_object("missing.py:Net", base_dir=tmp_path)
    with pytest.raises(registry.RegistryError, match="must look like"):
        registry.import_object("no_colon")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(registry.RegistryError, match="RuntimeError: boom"):
        registry.import_object("broken.py:X", base_dir=tmp_path)
