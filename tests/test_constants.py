"""torchlite.pi, e, inf, nan: Python floats, as torch's."""

import math

import pytest

import torchlite


def test_math_constants():
    assert torchlite.pi == math.pi and torchlite.e == math.e
    assert torchlite.inf == math.inf and math.isnan(torchlite.nan)
    for c in (torchlite.pi, torchlite.e, torchlite.inf, torchlite.nan):
        assert type(c) is float
    x = torchlite.tensor([0.0, torchlite.pi / 2])
    assert torchlite.sin(x).tolist()[1] == pytest.approx(1.0)
    assert torchlite.full((1,), torchlite.inf).isinf().all()


@pytest.mark.parity
def test_constants_parity():
    torch = pytest.importorskip("torch")
    assert (torchlite.pi, torchlite.e, torchlite.inf) == (torch.pi, torch.e, torch.inf)
    assert math.isnan(torch.nan) and math.isnan(torchlite.nan)
