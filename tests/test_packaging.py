"""Packaging and layering rules that are easy to break silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "torchlite").rglob("__init__.py")}
    assert found - listed == set(), "add these packages to pyproject.toml"
    assert "torchlite_cli" in listed


def test_import_torchlite_stays_light():
    # the library never imports the CLI's toolkit, cupy, or its own heavy subpackages eagerly
    code = (
        "import sys, torchlite, torchlite.nn, torchlite.optim, torchlite.training.trainer\n"
        "heavy = ('typer', 'rich', 'cupy', 'torch', 'torchlite_cli')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_cli_help_does_not_import_the_library():
    code = ("import sys\nsys.argv = ['torchlite', '--help']\nfrom torchlite_cli.main import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "print('numpy' in sys.modules, 'torchlite' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_the_version_is_written_once():
    import importlib.metadata

    import torchlite

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert importlib.metadata.version("torchlite") == torchlite.__version__
