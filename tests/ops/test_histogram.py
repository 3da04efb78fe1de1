"""bincount and histc: counts, weights, bin edges and dtypes as PyTorch's."""

import numpy as np
import pytest

import torchlite

T = torchlite.tensor


def test_bincount():
    assert torchlite.bincount(T([0, 1, 1, 3])).tolist() == [1, 2, 0, 1]
    assert torchlite.bincount(T([0, 1, 1, 3]), minlength=6).tolist() == [1, 2, 0, 1, 0, 0]
    w = torchlite.bincount(T([0, 1, 1, 3]), weights=T([0.5, 1.0, 1.0, 2.0],
                                                      dtype=torchlite.float64))
    assert w.tolist() == [0.5, 2.0, 0.0, 2.0] and w.dtype == torchlite.float64
    assert torchlite.bincount(T([], dtype=torchlite.int64)).tolist() == []
    assert T([2, 2]).bincount().tolist() == [0, 0, 2]
    with pytest.raises(RuntimeError, match="non-negative"):
        torchlite.bincount(T([-1, 2]))
    with pytest.raises(RuntimeError, match="non-negative"):
        torchlite.bincount(T([1.0]))


def test_histc():
    x = T([1.0, 2.0, 1.0, 4.0, 7.0])
    assert torchlite.histc(x, bins=4, min=0, max=8).tolist() == [2, 1, 1, 1]
    assert torchlite.histc(x, bins=3).tolist() == [3, 1, 1]
    assert torchlite.histc(x, bins=2, min=2, max=4).tolist() == [1, 1]  # 1, 7 are outside
    assert x.histc(2).dtype == torchlite.float32
    with pytest.raises(RuntimeError, match="bins"):
        torchlite.histc(x, bins=0)


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    i = r.integers(0, 9, 50)
    w = r.uniform(size=50).astype(np.float32)
    assert torchlite.bincount(T(i)).tolist() == torch.bincount(torch.tensor(i)).tolist()
    got = torchlite.bincount(T(i), T(w))
    ref = torch.bincount(torch.tensor(i), torch.tensor(w))
    assert str(got.dtype)[-7:] == str(ref.dtype)[-7:]
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6)
    x = r.normal(size=200).astype(np.float32)
    for kw in (dict(bins=10), dict(bins=7, min=-1, max=1.5)):
        np.testing.assert_array_equal(torchlite.histc(T(x), **kw).numpy(),
                                      torch.histc(torch.tensor(x), **kw).numpy())
