"""What the pre-run check tests share: a small digits config, the CLI runner, and the assertion
that a command was refused with one error line and no run folder."""

from __future__ import annotations

from pathlib import Path

from torchlite_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()

# digits with these splits: 1078 training samples, 9 batches of 128 (1078 = 3 x 359 + 1)
_DIGITS = """\
name: t
seed: 0
device: cpu
data: {{dataset: digits, val_split: 0.2, test_split: 0.2, batch_size: 128, input_shape: [64]}}
model:
  type: sequential
  layers:
    - {{type: Linear, in_features: 64, out_features: 16}}{norm}
    - {{type: ReLU}}
    - {{type: Linear, in_features: 16, out_features: 10}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: {epochs}}}
metrics: [accuracy]
output: {{root: {root}}}
"""


def digits_config(tmp_path: Path, *, epochs: int = 2, batch_norm: bool = False) -> Path:
    """t.yaml in tmp_path, its runs going to tmp_path/runs."""
    norm = "\n    - {type: BatchNorm1d, num_features: 16}" if batch_norm else ""
    p = tmp_path / "t.yaml"
    p.write_text(_DIGITS.format(root=tmp_path / "runs", epochs=epochs, norm=norm))
    return p


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
