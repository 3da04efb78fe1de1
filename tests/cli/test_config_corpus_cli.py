"""The bad-config corpus through the real command line: exit code 2, the located message, and
never a traceback."""

from __future__ import annotations

import pytest
from torchlite_cli.main import app

# tests/ is on sys.path (it holds conftest.py) and tests/training is a package
from training._config_base import BASE, sub, write
from training.test_config_errors import BAD_CONFIGS, BAD_OVERRIDES
from typer.testing import CliRunner

runner = CliRunner()


@pytest.mark.parametrize("old, new, line, path, fragment", BAD_CONFIGS,
                         ids=[f"{i}-{c[3] or 'yaml'}" for i, c in enumerate(BAD_CONFIGS)])
@pytest.mark.parametrize("command", ["train", "validate"])
def test_bad_configs_exit_2(tmp_path, command, old, new, line, path, fragment):
    cfg = write(tmp_path, sub(old, new))
    r = runner.invoke(app, [command, str(cfg)])
    assert r.exit_code == 2, r.output
    assert f"{cfg}:{line}: " in r.output and fragment in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "runs").exists()  # nothing written for a bad config


@pytest.mark.parametrize("override, path, fragment", BAD_OVERRIDES,
                         ids=[o[0] for o in BAD_OVERRIDES])
def test_bad_overrides_exit_2(tmp_path, override, path, fragment):
    r = runner.invoke(app, ["train", str(write(tmp_path, BASE)), override])
    assert r.exit_code == 2, r.output
    assert f"override '{override}': " in r.output and fragment in r.output
    assert "Traceback" not in r.output
