"""A checkpoint never makes torchlite run code. Its stored config may name a custom model's file
(absolute, relative to the working folder) or module; eval, infer and summary import none of
them unless the user names the code (--model-code) or says it trusts the checkpoint
(--trust-model-code). The canary files below write a marker when imported: it must never appear.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import NET, TINY_DIGITS, rewrite_checkpoint
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite.training import api
from torchlite.training.loader import UsageError
from torchlite.training.restore import UntrustedModelCodeError

CANARY = """\
from pathlib import Path
Path({marker!r}).write_text("imported")
import torchlite.nn as nn


class Net(nn.Module):
    def __init__(self, mode="ok"):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run trained from the user's own config and model file (net.py)."""
    tmp = tmp_path_factory.mktemp("custom")
    (tmp / "net.py").write_text(NET)
    cfg = tmp / "custom.yaml"
    cfg.write_text(TINY_DIGITS.format(name="custom", root=tmp / "runs").replace(
        "{type: mlp, hidden: [16]}", f"{{type: custom, target: '{tmp / 'net.py'}:Net'}}")
        .replace("normalize: standard}", "normalize: standard, input_shape: [64]}"))
    api.train(cfg)
    return tmp


@pytest.fixture
def hostile(trained, tmp_path, monkeypatch):
    """Checkpoints whose stored target names a canary: by absolute path, by a path relative to
    the working folder, and as a module importable from it."""
    marker = tmp_path / "marker"
    (tmp_path / "evil.py").write_text(CANARY.format(marker=str(marker)))
    (tmp_path / "evil_mod.py").write_text(CANARY.format(marker=str(marker)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    src = trained / "runs" / "custom" / "weights" / "best.safetensors"
    ckpts = {}
    for kind, target in [("absolute", f"{tmp_path / 'evil.py'}:Net"), ("relative", "evil.py:Net"),
                         ("training-machine path", "/home/someone/project/evil.py:Net"),
                         ("module", "evil_mod:Net")]:
        def edit(info, target=target):
            info["config"]["model"]["target"] = target
        ckpts[kind] = rewrite_checkpoint(src, tmp_path / f"{kind}.safetensors", edit)
    yield ckpts, marker
    sys.modules.pop("evil_mod", None)


COMMANDS = {
    "eval": lambda ckpt, **kw: api.evaluate_checkpoint(ckpt, **kw),
    "infer": lambda ckpt, **kw: api.predict(np.zeros((2, 64), np.float32), ckpt, **kw),
    "summary": lambda ckpt, **kw: api.summarize(ckpt, **kw),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_checkpoint_alone_imports_nothing(hostile, command):
    ckpts, marker = hostile
    for kind, ckpt in ckpts.items():
        with pytest.raises(UntrustedModelCodeError, match="--model-code FILE.py .* "
                                                          "--trust-model-code"):
            COMMANDS[command](ckpt)
        assert not marker.exists(), f"{command} ran the code a checkpoint named ({kind})"
        assert "evil_mod" not in sys.modules


@pytest.mark.parametrize("command", ["eval", "summary"])
def test_cli_refuses_with_a_usage_error(hostile, command):
    ckpts, marker = hostile
    for ckpt in ckpts.values():
        r = CliRunner().invoke(app, [command, str(ckpt)])
        assert r.exit_code == 2, r.output
        assert "never runs code that a checkpoint names" in r.output
        assert "Traceback" not in r.output
    assert not marker.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_model_code_names_the_code_and_the_checkpoint_only_the_class(trained, hostile, command):
    ckpts, marker = hostile
    out = COMMANDS[command](ckpts["absolute"], model_code=str(trained / "net.py"))
    assert out  # the model was rebuilt from the user's net.py and ran
    assert not marker.exists()


def test_model_code_may_name_the_class(trained, hostile):
    ckpts, _ = hostile
    rep = api.evaluate_checkpoint(ckpts["module"], model_code=f"{trained / 'net.py'}:Net")
    assert rep["samples"] > 0


def test_missing_model_code_file_is_a_usage_error(hostile, tmp_path):
    ckpts, _ = hostile
    with pytest.raises(UsageError, match=f"--model-code {tmp_path / 'nope.py'}: no such file"):
        api.evaluate_checkpoint(ckpts["absolute"], model_code=str(tmp_path / "nope.py"))


def test_trust_model_code_imports_what_the_checkpoint_names(hostile):
    ckpts, marker = hostile
    rep = api.evaluate_checkpoint(ckpts["absolute"], trust_model_code=True)
    assert rep["samples"] > 0 and marker.read_text() == "imported"


def test_builtin_models_need_neither_option(tmp_path):
    cfg = tmp_path / "mlp.yaml"
    cfg.write_text(TINY_DIGITS.format(name="mlp", root=tmp_path / "runs"))
    api.train(cfg)
    rep = api.evaluate_checkpoint(tmp_path / "runs" / "mlp" / "weights" / "best.safetensors")
    assert rep["accuracy"] > 0.5


def test_the_users_own_run_still_evaluates_with_its_code(trained):
    best = Path(trained) / "runs" / "custom" / "weights" / "best.safetensors"
    with pytest.raises(UntrustedModelCodeError):
        api.evaluate_checkpoint(best)
    assert api.evaluate_checkpoint(best, model_code=str(trained / "net.py"))["samples"] > 0


USERS_MODULE = """\
from pathlib import Path
from torchlite.nn import Linear  # imported, not defined here
import torchlite.nn as nn


class Net(nn.Module):
    def __init__(self, mode="ok"):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x)


class _Helper(nn.Module):
    pass


def __getattr__(name):  # a module-level __getattr__ must not be asked for a checkpoint's name
    Path({marker!r}).write_text(name)
    raise AttributeError(name)
"""


@pytest.mark.parametrize("cls, fragment", [
    ("Linear", "which {code} does not define"),
    ("Missing", "which {code} does not define"),
    ("_Helper", "names no public class"),
])
def test_with_model_code_the_checkpoint_picks_only_a_class_the_code_defines(
        trained, tmp_path, cls, fragment):
    from torchlite.serialization import CheckpointError

    marker = tmp_path / "asked"
    code = tmp_path / "users.py"
    code.write_text(USERS_MODULE.format(marker=str(marker)))
    src = trained / "runs" / "custom" / "weights" / "best.safetensors"

    def edit(info):
        info["config"]["model"]["target"] = f"/elsewhere/net.py:{cls}"
    ckpt = rewrite_checkpoint(src, tmp_path / "w.safetensors", edit)
    with pytest.raises(CheckpointError, match=fragment.format(code=code)):
        api.evaluate_checkpoint(ckpt, model_code=str(code))
    assert not marker.exists()
    # the user may name the class themselves
    assert api.evaluate_checkpoint(ckpt, model_code=f"{code}:Net")["samples"] > 0
