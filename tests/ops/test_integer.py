"""gcd and lcm: values and signs as PyTorch, integer dtypes kept, floats refused."""

import numpy as np
import pytest

import torchlite


def test_gcd_lcm_values_and_dtypes():
    a, b = torchlite.tensor([12, -18, 0, 7]), torchlite.tensor([8, 12, 0, -3])
    assert torchlite.gcd(a, b).tolist() == [4, 6, 0, 1]
    assert torchlite.lcm(a, b).tolist() == [24, 36, 0, 21]
    u = torchlite.tensor([12], dtype=torchlite.uint8)
    assert torchlite.gcd(u, torchlite.tensor([8], dtype=torchlite.uint8)).dtype == torchlite.uint8
    assert a.gcd(4).tolist() == [4, 2, 4, 1]
    with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
        torchlite.gcd(torchlite.ones(1), torchlite.ones(1))


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    for dt in ("int8", "int16", "int32", "int64"):
        a, b = r.integers(-60, 60, 40).astype(dt), r.integers(-60, 60, 40).astype(dt)
        for op in ("gcd", "lcm"):
            assert getattr(torchlite, op)(torchlite.tensor(a), torchlite.tensor(b)).tolist() \
                == getattr(torch, op)(torch.tensor(a), torch.tensor(b)).tolist()
