"""Observers: the ranges they keep and the qparams they compute, against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from torchlite.ao import quantization as tq


def _batches():
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((16, 8, 5)) * s + m).astype(np.float32)
            for s, m in ((1.0, 0.5), (2.0, -1.0), (0.5, 3.0))]


def test_minmax_and_moving_average_ranges():
    obs, avg = tq.MinMaxObserver(), tq.MovingAverageMinMaxObserver(averaging_constant=0.5)
    lo = hi = None
    for b in _batches():
        obs(tl.from_numpy(b))
        avg(tl.from_numpy(b))
        lo = b.min() if lo is None else lo + np.float32(0.5) * (b.min() - lo)
        hi = b.max() if hi is None else hi + np.float32(0.5) * (b.max() - hi)
    allb = np.concatenate([b.ravel() for b in _batches()])
    assert float(obs.min_val) == allb.min() and float(obs.max_val) == allb.max()
    assert float(avg.min_val) == pytest.approx(lo) and float(avg.max_val) == pytest.approx(hi)


def test_per_channel_ranges_and_uncalibrated_default():
    obs = tq.PerChannelMinMaxObserver(ch_axis=1, dtype=tl.qint8,
                                      qscheme=tl.per_channel_symmetric)
    for b in _batches():
        obs(tl.from_numpy(b))
    allb = np.concatenate(_batches())
    np.testing.assert_array_equal(obs.min_val.numpy(), allb.min(axis=(0, 2)))
    np.testing.assert_array_equal(obs.max_val.numpy(), allb.max(axis=(0, 2)))
    with pytest.warns(UserWarning, match="must run observer"):
        s, z = tq.MinMaxObserver().calculate_qparams()
    assert s.tolist() == [1.0] and z.tolist() == [0]


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["minmax", "moving", "per_channel", "histogram",
                                  "symmetric", "reduce"])
def test_qparams_equal_torch(kind):
    torch = pytest.importorskip("torch", reason="parity tests need torch")
    ta, la = torch.ao.quantization, tq
    make = {
        "minmax": lambda m: m.MinMaxObserver(),
        "moving": lambda m: m.MovingAverageMinMaxObserver(),
        "per_channel": lambda m: m.PerChannelMinMaxObserver(ch_axis=1),
        "histogram": lambda m: m.HistogramObserver(),
        "symmetric": lambda m: m.MinMaxObserver(dtype=(torch if m is ta else tl).qint8,
                                                qscheme=(torch if m is ta else tl)
                                                .per_tensor_symmetric),
        "reduce": lambda m: m.MinMaxObserver(reduce_range=True),
    }[kind]
    t_obs, l_obs = make(ta), make(la)
    batches = _batches()[:1] if kind == "histogram" else _batches()
    for b in batches:
        t_obs(torch.from_numpy(b))
        l_obs(tl.from_numpy(b))
    ts, tz = t_obs.calculate_qparams()
    ls, lz = l_obs.calculate_qparams()
    rtol = 1e-3 if kind == "histogram" else 1e-6
    np.testing.assert_allclose(ls.numpy(), ts.numpy(), rtol=rtol)
    np.testing.assert_array_equal(lz.numpy(), tz.numpy())


def test_histogram_observer_grows_its_range_and_keeps_counts():
    obs = tq.HistogramObserver(bins=64)
    a, b = _batches()[0], _batches()[2]
    obs(tl.from_numpy(a))
    obs(tl.from_numpy(b))
    assert float(obs.histogram.sum()) == pytest.approx(a.size + b.size)
    assert float(obs.min_val) == min(a.min(), b.min())
    assert float(obs.max_val) == max(a.max(), b.max())
    s, z = obs.calculate_qparams()
    assert float(s) > 0 and 0 <= int(z) <= 255
