"""Strict scalar types in configs (no "64" for an int, no `true` for a count, no "no" for a bool)
and no Inf/NaN in numeric settings: one config error each, exit code 2."""

from __future__ import annotations

import pytest

from torchlite.training.config import load_config
from torchlite.training.loader import ConfigError

from ._checks import cli
from ._config_base import BASE, sub, write


def problem(tmp_path, text: str = BASE, overrides=()):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), list(overrides))
    assert len(info.value.problems) == 1, str(info.value)
    return info.value.problems[0]


BAD_OVERRIDES = [
    ("trainer.epochs=true", "trainer.epochs", "expected an integer, got True"),
    ("trainer.epochs=2.0", "trainer.epochs", "expected an integer, got 2.0"),
    ("data.shuffle=no", "data.shuffle", "expected true or false, got 'no'"),
    ("data.drop_last=1", "data.drop_last", "expected true or false, got 1"),
    ('seed="5"', "seed", "expected an integer, got '5'"),
    ("data.val_split='0.1'", "data.val_split", "expected a number, got '0.1'"),
    ("optimizer.lr=.inf", "optimizer.lr", "must be finite, got inf"),
    ("optimizer.weight_decay=.nan", "optimizer.weight_decay", "must be finite, got nan"),
    ("loss.label_smoothing=-.inf", "loss.label_smoothing", "must be finite"),
    ("data.val_split=.nan", "data.val_split", "expected a finite number"),
    ("trainer.grad_clip=.inf", "trainer.grad_clip", "expected a finite number"),
]


@pytest.mark.parametrize("override, path, fragment", BAD_OVERRIDES,
                         ids=[b[0] for b in BAD_OVERRIDES])
def test_bad_override(tmp_path, override, path, fragment):
    p = problem(tmp_path, overrides=[override])
    assert p.path == path and fragment in p.message, str(p)
    assert p.file == f"override '{override}'"


def test_quoted_int_in_the_file_is_located(tmp_path):
    p = problem(tmp_path, sub("batch_size: 32", 'batch_size: "64"'))
    assert (p.line, p.path, p.message) == (8, "data.batch_size", "expected an integer, got '64'")


@pytest.mark.parametrize("dataset, key", [("blobs", "cluster_std"), ("spirals", "turns"),
                                          ("moons", "noise")])
def test_non_finite_synthetic_options(tmp_path, dataset, key):
    p = problem(tmp_path, overrides=[f"data.dataset={dataset}", f"data.{key}=.inf"])
    assert p.path == f"data.{key}" and "expected a finite number, got inf" in p.message


def test_yaml_booleans_and_ints_still_work(tmp_path):
    text = sub("  normalize: standard", "  normalize: standard\n  shuffle: False\n"
               "  drop_last: TRUE")
    cfg, _ = load_config(write(tmp_path, text), ["trainer.epochs=4", "seed=7",
                                                 "data.test_split=0", "data.stratify=false"])
    assert (cfg.data.shuffle, cfg.data.drop_last, cfg.data.stratify) == (False, True, False)
    assert (cfg.trainer.epochs, cfg.seed, cfg.data.test_split) == (4, 7, 0)


@pytest.mark.parametrize("command", ["train", "validate"])
def test_cli_exit_code(tmp_path, command):
    cfg = write(tmp_path, BASE.replace("root: runs", f"root: {tmp_path / 'runs'}"))
    r = cli(command, cfg, "optimizer.lr=.inf")
    assert r.exit_code == 2, r.output
    assert "optimizer.lr: must be finite, got inf" in r.output
    assert not (tmp_path / "runs").exists()
