"""nansum and nanmean: NaNs skipped, dims and keepdim, integer inputs, gradients, parity."""

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite

NAN = float("nan")
X = np.array([[1.0, NAN, 3.0], [NAN, NAN, 2.0]])


def test_values():
    t = torchlite.tensor(X)
    assert torchlite.nansum(t).item() == 6.0 and t.nansum(1).tolist() == [4.0, 2.0]
    np.testing.assert_allclose(to_np(torchlite.nanmean(t, 0)), [1.0, NAN, 2.5])
    assert torchlite.nanmean(t, 1, keepdim=True).shape == (2, 1)
    assert torchlite.nansum(torchlite.tensor([1, 2])).dtype == torchlite.int64
    with pytest.raises(RuntimeError, match="floating point"):
        torchlite.nanmean(torchlite.tensor([1, 2]))
    a = torchlite.tensor([1.0, NAN], requires_grad=True)
    torchlite.nanmean(a).backward()
    assert a.grad.tolist() == [1.0, 0.0]
    check_grad(lambda u: torchlite.nanmean(u, 1), np.where(np.isnan(X), 0.5, X))


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    for kw in ({}, {"dim": 0}, {"dim": 1, "keepdim": True}):
        for name in ("nansum", "nanmean"):
            np.testing.assert_allclose(to_np(getattr(torchlite, name)(torchlite.tensor(X), **kw)),
                                       getattr(torch, name)(torch.tensor(X), **kw).numpy())
