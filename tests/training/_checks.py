"""What the pre-run check tests share: a small digits config, the CLI runner, and the assertion
that a command was refused with one error line and no run folder."""

from __future__ import annotations

from pathlib import Path

from _tiny_runs import digits_config as _digits_config
from torchlite_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()

# digits with these splits: 1078 training samples, 9 batches of 128 (1078 = 3 x 359 + 1)
def digits_config(tmp_path: Path, *, epochs: int = 2, batch_norm: bool = False) -> Path:
    """t.yaml in tmp_path, its runs going to tmp_path/runs."""
    return _digits_config(tmp_path, epochs=epochs, batch_norm=batch_norm)


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error(r, code: int) -> str:
    """The one `error:` line of a result that exited with `code` (never 'internal error')."""
    assert r.exit_code == code, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "internal error" not in r.output, r.output
    return lines[0]


def refused(tmp_path: Path, command: str, config: Path, *overrides, code: int = 2) -> str:
    """Run `command` on `config`: refused with one error line, and no run folder made."""
    line = one_error(cli(command, config, *overrides), code)
    assert not (tmp_path / "runs").exists()
    return line
