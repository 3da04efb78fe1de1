"""training.threads: the work estimate behind the thread policy."""

import torchlite.nn as nn
from torchlite import _parallel
from torchlite.training.threads import choose_threads, step_macs


def test_step_macs_counts_linear_weights_per_sample():
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert step_macs(m, (4,), 10) == 3 * (4 * 3 + 3 + 3 * 2 + 2) * 10


def test_step_macs_counts_conv_weights_per_output_pixel():
    m = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1))  # 8x8 outputs
    assert step_macs(m, (1, 8, 8), 1) == 3 * (2 * 9 + 2) * 64


def test_choose_threads_picks_one_for_a_small_model(monkeypatch):
    for var in _parallel.THREAD_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    saved = _parallel._threads, _parallel._user_set
    _parallel._user_set = False
    try:
        m = nn.Linear(64, 10)
        assert choose_threads(None, m, (64,), 64).threads == 1
        assert choose_threads(2, m, (64,), 64).to_dict()["source"] == "--threads"
    finally:
        _parallel._threads, _parallel._user_set = saved
        _parallel._limit_blas(_parallel.get_num_threads())
