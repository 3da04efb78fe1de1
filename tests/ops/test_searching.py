"""searchsorted, bucketize, isin: values as PyTorch's, sides, batched sequences, dtypes."""

import numpy as np
import pytest

import torchlite

T = torchlite.tensor


def test_searchsorted_and_bucketize():
    s, v = T([1, 3, 5, 7, 9]), T([[3, 6, 9], [3, 6, 9]])
    assert torchlite.searchsorted(s, v).tolist() == [[1, 3, 4]] * 2
    assert torchlite.searchsorted(s, v, right=True).tolist() == [[2, 3, 5]] * 2
    assert torchlite.searchsorted(s, v, side="right").tolist() == [[2, 3, 5]] * 2
    assert torchlite.searchsorted(s, 5).item() == 2 and torchlite.searchsorted(s, 5).shape == ()
    assert torchlite.searchsorted(s, v, out_int32=True).dtype == torchlite.int32
    assert torchlite.searchsorted(T([[1, 3, 5], [2, 4, 6]]), T([[3], [3]])).tolist() == [[1], [1]]
    assert torchlite.searchsorted(T([5, 1, 3]), T([2]), sorter=T([1, 2, 0])).tolist() == [1]
    assert torchlite.bucketize(T([3, 6, 9]), s).tolist() == [1, 3, 4]
    assert torchlite.bucketize(T([3, 6, 9]), s, right=True).tolist() == [2, 3, 5]
    with pytest.raises(RuntimeError, match="opposites"):
        torchlite.searchsorted(s, v, right=True, side="left")
    with pytest.raises(RuntimeError, match="must match"):
        torchlite.searchsorted(T([[1, 2]]), T([[1], [2]]))


def test_isin():
    x = T([1, 2, 3, 4])
    assert torchlite.isin(x, T([2, 4])).tolist() == [False, True, False, True]
    assert torchlite.isin(x, 2).tolist() == [False, True, False, False]
    assert torchlite.isin(x, T([2, 4]), invert=True).tolist() == [True, False, True, False]
    assert torchlite.isin(3, x).item() is True


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    s = np.sort(r.normal(size=(3, 10)), axis=1)
    v = r.normal(size=(3, 7))
    for right in (False, True):
        assert torchlite.searchsorted(T(s), T(v), right=right).tolist() == \
            torch.searchsorted(torch.tensor(s), torch.tensor(v), right=right).tolist()
        assert torchlite.bucketize(T(v), T(s[0]), right=right).tolist() == \
            torch.bucketize(torch.tensor(v), torch.tensor(s[0]), right=right).tolist()
    a, b = r.integers(0, 10, 20), r.integers(0, 10, 5)
    assert torchlite.isin(T(a), T(b)).tolist() == torch.isin(torch.tensor(a),
                                                               torch.tensor(b)).tolist()
