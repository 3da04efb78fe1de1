"""python -m torchlite.utils.bottleneck: the script runs under cProfile and under
torchlite.profiler, with its own argv, and both summaries are printed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from torchlite.utils import bottleneck
from torchlite.utils.bottleneck.__main__ import main

SCRIPT = textwrap.dedent("""
    import sys
    import torchlite as torch
    import torchlite.nn as nn
    import torchlite.nn.functional as F

    def train(steps):
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(steps):
            loss = F.cross_entropy(model(torch.randn(4, 8)), torch.randint(0, 3, (4,)))
            opt.zero_grad()
            loss.backward()
            opt.step()

    if __name__ == "__main__":
        train(int(sys.argv[1]))
        print("trained", sys.argv[1:])
""")


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return str(path)


def test_end_to_end(script):
    out = subprocess.run([sys.executable, "-m", "torchlite.utils.bottleneck", script, "3", "x"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.count("trained ['3', 'x']") == 2  # one run per profiler
    for section in ("Environment Summary", "cProfile output (top 15 functions by tottime)",
                    "torchlite.profiler output (CPU; top 15 ops by cpu_time_total)"):
        assert section in text
    assert "Ordered by: internal time" in text  # pstats' own listing
    profiler_part = text.split("torchlite.profiler output")[1]
    assert "Optimizer.step#SGD.step" in profiler_part and "Backward0" in profiler_part
    assert "Self CPU time total:" in profiler_part


def test_the_library_functions_restore_argv_and_path(script):
    argv, path = list(sys.argv), list(sys.path)
    prof = bottleneck.run_profiler(script, ["2"])
    stats = bottleneck.run_cprofile(script, ["1"])
    assert sys.argv == argv and sys.path == path
    names = {e.key: e.count for e in prof.key_averages()}
    assert names["Optimizer.step#SGD.step"] == 2
    assert "train" in bottleneck.cprofile_summary(stats)
    assert "Optimizer.step#SGD.step" in bottleneck.profiler_summary(prof)


def test_a_script_without_ops(tmp_path, capsys):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    assert main([str(path)]) == 0
    assert "(no torchlite ops ran)" in capsys.readouterr().out


@pytest.mark.parametrize("code, status", [("sys.exit(0)", 0), ("sys.exit()", 0),
                                          ("sys.exit(3)", 3), ("sys.exit('bad')", 1)])
def test_sys_exit_in_the_script(tmp_path, capsys, code, status):
    path = tmp_path / "exits.py"
    path.write_text(f"import sys\n{code}\n")
    assert main([str(path)]) == status
    err = capsys.readouterr().err
    assert (f"the script exited with code {status}" in err) == (status != 0)


def test_a_missing_script_is_a_usage_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope.py")]) == 2
    assert capsys.readouterr().err.strip() == f"error: no such script: {tmp_path / 'nope.py'}"
