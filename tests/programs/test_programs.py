"""Small PyTorch programs in the style of well-known tutorials, run unchanged with PyTorch and
with torchlite (scripts/run_as_torch.py makes `import torch` resolve to torchlite): the printed
output must match, numbers to printing precision (text, shapes and grad_fn names exactly)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.parity

HERE = Path(__file__).parent
RUNNER = HERE.parent.parent / "scripts" / "run_as_torch.py"
PROGRAMS = sorted(p.name for p in HERE.glob("*.py") if not p.name.startswith("test_"))
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _run(program: str, *flags: str) -> str:
    r = subprocess.run([sys.executable, str(RUNNER), *flags, str(HERE / program)],
                       capture_output=True, text=True, timeout=300, cwd=HERE)
    assert r.returncode == 0, f"{program} {flags}: exit {r.returncode}\n{r.stderr[-3000:]}"
    return r.stdout


def _split(out: str):
    return [(_NUMBER.sub("#", line), [float(n) for n in _NUMBER.findall(line)])
            for line in out.splitlines()]


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_prints_what_pytorch_prints(program):
    pytest.importorskip("torch", reason="parity tests need torch (the dev extra)")
    want, got = _split(_run(program, "--torch")), _split(_run(program))
    assert len(got) == len(want), (want, got)
    for (wt, wn), (gt, gn) in zip(want, got):
        assert gt == wt
        for a, b in zip(gn, wn):
            assert abs(a - b) <= 2e-3 + 2e-3 * abs(b), (wt, wn, gn)


def test_runner_makes_torch_resolve_to_torchlite(tmp_path):
    prog = tmp_path / "p.py"
    prog.write_text("import torch, torch.nn.functional as F\n"
                    "from torch.utils.data import DataLoader\n"
                    "print(torch.__name__, F.__name__, DataLoader.__module__.split('.')[0])\n")
    out = subprocess.run([sys.executable, str(RUNNER), str(prog)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["torchlite", "torchlite.nn.functional", "torchlite"]
