"""Suite `startup`: wall time of a fresh Python process that imports torchlite, and of
`torchlite --help`; the floor is `python -c pass`, PyTorch's column `python -c "import torch"`.

Each step starts a new interpreter (with the environment of the worker, thread settings
included), so these rows measure import work and process start, not steady-state speed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from ._common import Env, RowSpec

REPEAT, WARMUP, BLOCK, SETTLE = 10, 1, 1, 0.0  # no thread pools: nothing to settle


def cli_command() -> list[str]:
    """How a user starts the CLI: the console script installed next to this Python, or, where
    there is none (a checkout that was not installed), the CLI package run as a module."""
    script = os.path.join(os.path.dirname(sys.executable), "torchlite")
    if os.path.isfile(script) and os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "torchlite_cli"]


def rows(quick: bool = False) -> list[RowSpec]:
    py = sys.executable
    floor = [py, "-c", "pass"]
    cases = {
        "import": {"torchlite": [py, "-c", "import torchlite"], "floor": floor,
                   "torch": [py, "-c", "import torch"]},
        "--help": {"torchlite": cli_command() + ["--help"], "floor": floor},
    }
    out = []
    for name, commands in cases.items():
        desc = "fresh process: " + "; ".join(
            f"{fw} `{shlex.join([os.path.basename(c[0])] + c[1:])}`"
            for fw, c in commands.items())
        out.append(RowSpec("startup", name, desc, {"commands": commands}))
    return out


class Command:
    def __init__(self, command: list[str]) -> None:
        self.command = command

    def step(self) -> None:
        r = subprocess.run(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if r.returncode:
            last = (r.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
            raise RuntimeError(f"`{shlex.join(self.command)}` exited with code "
                               f"{r.returncode}: {last}")

    def check(self) -> dict[str, float]:
        self.step()  # runs at all; there are no numbers to compare
        return {}


def build(env: Env, params: dict):
    command = params["commands"].get(env.framework)
    return None if command is None else Command(command)
