"""`torchlite graph`, end to end: a config's or checkpoint's model drawn for one batch."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from _tiny_runs import NET, TINY_DIGITS, digits_config
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite.training import api
from torchlite.utils import viz

runner = CliRunner()
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's dot program is not installed (apt install graphviz)")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def graphviz_package():
    pytest.importorskip("graphviz", reason="the [viz] extra (graphviz) is not installed")


def error_line(r, code: int) -> str:
    assert r.exit_code == code, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "internal error" not in lines[0], r.output
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny digits run and a custom-model run (net.py), one epoch each."""
    tmp = tmp_path_factory.mktemp("graph")
    (tmp / "tiny.yaml").write_text(TINY_DIGITS.format(name="tiny", root=tmp / "runs"))
    api.train(tmp / "tiny.yaml")
    (tmp / "net.py").write_text(NET)
    (tmp / "custom.yaml").write_text(
        TINY_DIGITS.format(name="custom", root=tmp / "runs").replace(
            "{type: mlp, hidden: [16]}", f"{{type: custom, target: '{tmp / 'net.py'}:Net'}}")
        .replace("normalize: standard}", "normalize: standard, input_shape: [64]}"))
    api.train(tmp / "custom.yaml")
    return tmp


def test_graph_of_a_config_as_dot_text(graphviz_package, tmp_path):
    cfg = digits_config(tmp_path, "g", batch_size=32, batch_norm=True)
    r = cli("graph", cfg, "--output", tmp_path / "g.dot")
    assert r.exit_code == 0, r.output
    assert f"wrote {tmp_path / 'g.dot'}: " in r.output and "batch [32, 64]" in r.output
    text = (tmp_path / "g.dot").read_text()
    assert text.startswith("digraph {")
    for name in ("NllLossBackward0", "AddmmBackward0", "NativeBatchNormBackward0",
                 "AccumulateGrad", '"0.weight\n (16, 64)"', "fillcolor=darkolivegreen1"):
        assert name in text, name
    assert text.count("fillcolor=lightblue") == 6  # two Linear and one BatchNorm, weight + bias


def test_graph_prints_dot_text_and_shows_attributes(graphviz_package, tmp_path):
    cfg = digits_config(tmp_path, "g")
    r = cli("graph", cfg, "-o", "-", "--batch-size", "4", "--show-attrs", "--show-saved")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("digraph {") and "[saved tensor (4, 64)]" in r.stdout
    assert "fillcolor=orange" in r.stdout and not list(tmp_path.glob("*_graph.*"))


def test_graph_of_a_checkpoint(graphviz_package, trained, tmp_path):
    out = tmp_path / "ckpt.gv"
    r = cli("graph", trained / "runs" / "tiny", "-o", out, "--batch-size", "3")
    assert r.exit_code == 0, r.output
    assert "batch [3, 64]" in r.output and "AddmmBackward0" in out.read_text()


def test_a_checkpoint_imports_custom_code_only_when_told(graphviz_package, trained, tmp_path):
    ckpt = trained / "runs" / "custom"
    sys.modules.pop("net", None)
    r = cli("graph", ckpt, "-o", tmp_path / "c.dot")
    assert "never runs code that a checkpoint names" in error_line(r, 2)
    assert not (tmp_path / "c.dot").exists()
    r = cli("graph", ckpt, "-o", tmp_path / "c.dot", "--model-code", trained / "net.py")
    assert r.exit_code == 0, r.output
    assert '"fc.weight\n (10, 64)"' in (tmp_path / "c.dot").read_text()


def test_graph_rejects_an_unknown_extension(tmp_path):
    cfg = digits_config(tmp_path, "g")
    line = error_line(cli("graph", cfg, "-o", tmp_path / "g.jpg"), 2)
    assert "unsupported extension '.jpg'" in line and ".svg" in line


def test_graph_without_the_graphviz_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(viz, "_DIGRAPH", [])
    cfg = digits_config(tmp_path, "g")
    line = error_line(cli("graph", cfg, "-o", tmp_path / "g.dot"), 1)
    assert "pip install 'torchlite[viz]'" in line


def test_graph_image_without_the_dot_program(graphviz_package, tmp_path, monkeypatch):
    cfg = digits_config(tmp_path, "g")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    line = error_line(cli("graph", cfg, "-o", tmp_path / "g.svg"), 1)
    assert "apt install graphviz" in line and "--output FILE.dot" in line
    assert not (tmp_path / "g.svg").exists()


@needs_dot
def test_graph_draws_svg_by_default_and_png(graphviz_package, tmp_path, monkeypatch):
    cfg = digits_config(tmp_path, "g")
    monkeypatch.chdir(tmp_path)
    r = cli("graph", cfg)
    assert r.exit_code == 0, r.output
    assert "<svg" in (tmp_path / "g_graph.svg").read_text()
    r = cli("graph", cfg, "-o", tmp_path / "pics" / "g.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pics" / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
