"""What the pre-run check tests share: a small digits config, the library calls behind `train`
and `validate`, and the assertion that one was refused with a one-line error of the expected
exit code and no run folder. (The CLI only renders these errors; tests/cli checks that.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from _tiny_runs import digits_config as _digits_config
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite.errors import TorchliteError
from torchlite.training import api

runner = CliRunner()


# digits with these splits: 1078 training samples, 9 batches of 128 (1078 = 3 x 359 + 1)
def digits_config(tmp_path: Path, *, epochs: int = 2, batch_norm: bool = False) -> Path:
    """t.yaml in tmp_path, its runs going to tmp_path/runs."""
    return _digits_config(tmp_path, epochs=epochs, batch_norm=batch_norm)


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def run(command: str, config: Path, *overrides):
    """The library call behind `torchlite train|validate CONFIG OVERRIDES...`."""
    call = {"train": api.train, "validate": api.validate}[command]
    return call(config, list(overrides))


def error_line(call, code: int = 2) -> str:
    """`call()` refused: a torchlite error of exit code `code` whose message is one line.
    Returns the line the CLI shows for it ("error: ...")."""
    with pytest.raises(TorchliteError) as exc:
        call()
    message = str(exc.value)
    assert exc.value.exit_code == code, message
    assert "\n" not in message
    return f"error: {message}"


def refused(tmp_path: Path, command: str, config: Path, *overrides, code: int = 2) -> str:
    """`command` on `config` refused (see error_line), and no run folder made."""
    line = error_line(lambda: run(command, config, *overrides), code)
    assert not (tmp_path / "runs").exists()
    return line
