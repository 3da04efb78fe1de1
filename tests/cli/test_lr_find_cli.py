"""`torchlite lr-find`: the range test's sweep, suggestion, plot and --apply copy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite.training.config import load_config

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text("# a comment that --apply keeps\n" +
                 TINY_DIGITS.format(name="tiny", root=tmp_path / "runs"))
    return p


def test_lr_find_sweeps_exponentially_and_suggests_an_lr(cfg, tmp_path):
    r = cli("lr-find", cfg, "--steps", "30", "--start-lr", "1e-5", "--end-lr", "1",
            "--no-plot", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    lrs = np.array(out["lrs"])
    assert lrs[0] == pytest.approx(1e-5) and len(lrs) == out["steps"] <= 30
    ratios = lrs[1:] / lrs[:-1]
    assert np.allclose(ratios, ratios[0])  # exponential
    assert 1e-5 <= out["suggested_lr"] <= 1
    assert len(out["smoothed"]) == len(out["losses"]) == len(lrs)
    assert not (tmp_path / "runs" / "tiny").exists()  # no run folder


def test_lr_find_apply_writes_a_copy_with_the_suggested_lr(cfg):
    r = cli("lr-find", cfg, "--steps", "20", "--no-plot", "--apply")
    assert r.exit_code == 0, r.output
    copy = cfg.with_name("tiny_lr.yaml")
    assert f"wrote {copy}" in r.output
    suggested = float(r.stdout.split("suggested lr:")[1].split()[0])
    text = copy.read_text()
    assert "# a comment that --apply keeps" in text
    c, _ = load_config(copy)
    assert c.optimizer.lr == pytest.approx(suggested) and c.name == "tiny"
    assert load_config(cfg)[0].optimizer.lr == 1e-2  # the original is untouched


def test_lr_find_draws_the_curve(cfg, tmp_path):
    pytest.importorskip("matplotlib", reason="needs the plot extra")
    r = cli("lr-find", cfg, "--steps", "10", "--plot", tmp_path / "lr.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "lr.png").stat().st_size > 0


def test_lr_find_refuses_a_backwards_range(cfg):
    r = cli("lr-find", cfg, "--start-lr", "1", "--end-lr", "1e-3", "--no-plot")
    assert r.exit_code == 2 and "start lr < end lr" in r.output

