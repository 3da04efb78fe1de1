"""training.lr_find: the suggestion rule and the --apply copy of a config."""

import numpy as np
import pytest

from torchlite.training.lr_find import apply_lr, suggest_lr


def test_the_suggestion_is_the_steepest_fall():
    lrs = np.logspace(-6, 0, 50)
    loss = 2 - np.tanh((np.log10(lrs) + 3) * 2)  # falls fastest at 1e-3
    assert suggest_lr(lrs, loss) == pytest.approx(1e-3, rel=0.35)
    assert suggest_lr(lrs[:2], loss[:2]) is None


def test_apply_changes_only_the_lr_in_block_style(tmp_path):
    src = tmp_path / "c.yaml"
    src.write_text("name: c\noptimizer:\n  type: SGD\n  lr: 0.1  # start here\n  momentum: 0.9\n"
                   "scheduler: {type: OneCycleLR, max_lr: 0.5}\n")
    out = apply_lr(src, 0.0123)
    assert out == tmp_path / "c_lr.yaml"
    lines = out.read_text().splitlines()
    assert "  lr: 0.0123  # start here" in lines and "  momentum: 0.9" in lines
    assert "scheduler: {type: OneCycleLR, max_lr: 0.5}" in lines
