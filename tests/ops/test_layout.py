"""rot90, atleast_1d/2d/3d and broadcast_shapes as PyTorch's."""

import numpy as np
import pytest
from _core_checks import check_grad, data

import torchlite


def test_rot90_is_numpys():
    x = np.arange(24.0).reshape(2, 3, 4)
    for k in range(-5, 6):
        for dims in ((0, 1), (1, 2), (2, 0), (-1, 0)):
            np.testing.assert_array_equal(torchlite.rot90(torchlite.tensor(x), k, dims).numpy(),
                                          np.rot90(x, k, dims))
    check_grad(lambda t: t.rot90(1, (0, 2)), data((2, 3, 4), 0))
    with pytest.raises(RuntimeError, match="different"):
        torchlite.rot90(torchlite.tensor(x), 1, (1, 1))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_atleast(n):
    f, ref = getattr(torchlite, f"atleast_{n}d"), getattr(np, f"atleast_{n}d")
    for shape in ((), (3,), (2, 3), (2, 3, 4)):
        assert tuple(f(torchlite.ones(shape)).shape) == ref(np.ones(shape)).shape
    a, b = f(torchlite.tensor(1.0), torchlite.ones(2))
    assert a.ndim >= n and b.ndim >= n
    assert len(f([torchlite.tensor(1.0), torchlite.tensor(2.0)])) == 2


def test_broadcast_shapes():
    assert torchlite.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert torchlite.broadcast_shapes(2, (3, 1)) == (3, 2)
    assert isinstance(torchlite.broadcast_shapes((1,)), torchlite.Size)
    with pytest.raises(RuntimeError, match="Shape mismatch"):
        torchlite.broadcast_shapes((2,), (3,))
