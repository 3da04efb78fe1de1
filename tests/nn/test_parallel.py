import numpy as np
import pytest
from _nn_checks import npy, rnd, t32

import torchlite
import torchlite.nn as nn


def test_data_parallel_wraps_and_prefixes_state_dict():
    inner = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    dp = nn.DataParallel(inner)
    assert dp.module is inner
    x = t32(rnd((4, 3)))
    out = dp(x)
    inner.eval()
    dp.eval()
    np.testing.assert_allclose(npy(dp(x)), npy(inner(x)))
    assert tuple(out.shape) == (4, 2)
    assert list(dp.state_dict()) == ["module." + k for k in inner.state_dict()]
    fresh = nn.DataParallel(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
    fresh.load_state_dict(dp.state_dict())
    plain = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    with pytest.raises(RuntimeError, match="Missing key"):
        plain.load_state_dict(dp.state_dict())
    assert repr(dp).startswith("DataParallel(\n  (module): Sequential(")
    dp(x).sum().backward()
    assert inner[0].weight.grad is not None


@pytest.mark.parity
def test_data_parallel_keys_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.DataParallel(nn.Linear(2, 2))
    theirs = torch.nn.DataParallel(torch.nn.Linear(2, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert torchlite.cuda.is_available() or ours.device_ids == []
