"""The config schema and load_config: the shipped examples, defaults, overrides."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from torchlite.training.config import Config, CustomModel, load_config, validate_config
from torchlite.training.loader import ConfigError, dump_yaml, load_yaml

from ._config_base import BASE, CONFIGS, ROOT, sub, write


# -- the shipped examples --
@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_example_config_validates(path):
    cfg, raw = load_config(path)
    assert cfg.name == path.stem and raw["name"] == path.stem
    assert cfg.trainer.epochs >= 1 and cfg.metrics


def test_examples_cover_the_issue():
    names = {p.stem for p in CONFIGS}
    assert {
        "digits_mlp",
        "digits_cnn",
        "regression",
        "custom_model",
        "mnist_mlp",
        "mnist_lenet",
    } <= names
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


# -- defaults and resolution --
def test_defaults_are_resolved(tmp_path):
    text = sub(
        "  early_stopping: {monitor: val/loss, patience: 2}\n"
        "  checkpoint: {monitor: val/accuracy, mode: max}\n",
        "  early_stopping: {monitor: val/f1_macro}\n",
    )
    cfg, _ = load_config(write(tmp_path, text.replace("name: t\n", ""), "my run.yaml"))
    assert cfg.name == "my_run"
    assert cfg.trainer.early_stopping.mode == "max" and cfg.trainer.early_stopping.patience == 8
    assert (cfg.trainer.checkpoint.monitor, cfg.trainer.checkpoint.mode) == ("val/loss", "min")
    assert cfg.scheduler.interval == "epoch" and cfg.scheduler.kwargs == {"step_size": 5}
    assert cfg.model.layers[0].kwargs == {"in_features": 64, "out_features": 32}
    assert cfg.logged_names()[:2] == ["train/loss", "train/accuracy"]
    assert cfg.metric_columns() == [
        "epoch",
        "step",
        "time_s",
        "lr",
        "train/loss",
        "train/accuracy",
        "train/f1_macro",
        "val/loss",
        "val/accuracy",
        "val/f1_macro",
    ]


def test_without_validation_monitors_fall_back_to_train(tmp_path):
    text = sub("val_split: 0.1", "val_split: 0").replace(
        "  early_stopping: {monitor: val/loss, patience: 2}\n"
        "  checkpoint: {monitor: val/accuracy, mode: max}\n",
        "  early_stopping: {}\n",
    )
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
    cfg, raw = load_config(
        write(tmp_path, BASE),
        [
            "optimizer.lr=0.01",
            "trainer.epochs=7",
            "model.layers.0.out_features=256",
            "data.batch_size=8",
            "metrics=[accuracy]",
            "trainer.checkpoint.monitor=val/loss",
            "seed=3",
        ],
    )
    assert cfg.optimizer.kwargs["lr"] == 0.01 and cfg.trainer.epochs == 7
    assert cfg.model.layers[0].kwargs["out_features"] == 256 and raw["seed"] == 3
    assert cfg.data.batch_size == 8 and cfg.metrics == ["accuracy"]
    assert cfg.source.locate(("trainer", "epochs"))[0] == "override 'trainer.epochs=7'"
    assert cfg.source.locate(("loss", "type")) == (str(tmp_path / "cfg.yaml"), 16)


def test_resolved_config_round_trips(tmp_path):
    cfg, _ = load_config(write(tmp_path, BASE))
    dumped = cfg.model_dump(mode="json")
    again, _ = load_config(write(tmp_path, dump_yaml(dumped), "resolved.yaml"))
    assert again.model_dump(mode="json") == dumped


def test_direct_model_validate_runs_cross_checks():
    data, _ = load_yaml(sub("val_split: 0.1", "val_split: 0.9"))
    with pytest.raises(ValidationError, match="val_split \\+ test_split must be < 1"):
        Config.model_validate(data)


def test_validate_config_of_dict_and_non_dict():
    data, _ = load_yaml(BASE)
    assert validate_config(data).name == "t"
    with pytest.raises(ConfigError, match="must be a mapping of sections"):
        validate_config([1, 2])


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "config file is empty"),
        (b"# nothing\n", "config file is empty"),
        (b"\xff\xfe\x00bad", "not UTF-8 text"),
        (b"- a\n- b\n", "must be a mapping of sections"),
    ],
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
