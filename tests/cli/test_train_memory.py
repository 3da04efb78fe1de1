"""The quickstart's memory bound: training configs/digits_mlp.yaml end to end, in a fresh
process, stays under 250 MB of peak resident memory (a resource bound, not a timing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT_MB = 250


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_quickstart_training_peak_memory(tmp_path):
    config = ROOT / "configs" / "digits_mlp.yaml"
    # VmHWM, not ru_maxrss: a forked child's ru_maxrss starts from its parent's peak (this
    # pytest process), so it would measure the test runner rather than the training
    script = (
        "import sys\n"
        "from torchlite_cli.main import app\n"
        "try:\n"
        "    app(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "    print('maxrss_kb', hwm.split()[1], file=sys.stderr)\n"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    r = subprocess.run(
        [sys.executable, "-c", script, "train", str(config), "--plain",
         f"output.root={tmp_path / 'runs'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "runs" / "digits_mlp" / "weights" / "best.safetensors").is_file()
    kb = int(next(line.split()[1] for line in r.stderr.splitlines()
                  if line.startswith("maxrss_kb")))
    assert kb / 1024 < LIMIT_MB, f"peak resident memory {kb / 1024:.0f} MB"
