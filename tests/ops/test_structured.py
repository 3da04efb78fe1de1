"""block_diag, diag_embed, cartesian_prod, tril_indices, triu_indices as PyTorch's."""

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite

T = torchlite.tensor


def test_block_diag_and_cartesian_prod():
    out = torchlite.block_diag(torchlite.ones(2, 2), torchlite.ones(1, 3) * 2, T([5.0]))
    assert to_np(out).tolist() == [[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0],
                                   [0, 0, 2, 2, 2, 0], [0, 0, 0, 0, 0, 5]]
    check_grad(lambda a, b: torchlite.block_diag(a, b), data((2, 2), 0), data((1, 3), 1))
    assert torchlite.cartesian_prod(T([1, 2]), T([3, 4])).tolist() == \
        [[1, 3], [1, 4], [2, 3], [2, 4]]


def test_diag_embed():
    x = data((2, 3), 2)
    out = to_np(torchlite.diag_embed(T(x)))
    assert out.shape == (2, 3, 3) and np.allclose(out[1], np.diag(x[1]))
    np.testing.assert_allclose(to_np(torchlite.diag_embed(T(x[0]), 1)), np.diag(x[0], 1))
    np.testing.assert_allclose(to_np(torchlite.diag_embed(T(x[0]), -2)), np.diag(x[0], -2))
    check_grad(lambda a: torchlite.diag_embed(a, 1, 0, 2), x)


def test_triangle_indices():
    for r, c, o in ((3, 3, 0), (3, 4, 1), (4, 3, -1)):
        assert torchlite.tril_indices(r, c, o).tolist() == \
            [list(v) for v in np.tril_indices(r, o, c)]
        assert torchlite.triu_indices(r, c, o).tolist() == \
            [list(v) for v in np.triu_indices(r, o, c)]
    assert torchlite.tril_indices(3, 3).dtype == torchlite.int64


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    x = data((2, 3), 3)
    for off, dims in ((0, (-2, -1)), (1, (0, 2)), (-2, (-1, 0))):
        np.testing.assert_array_equal(to_np(torchlite.diag_embed(T(x), off, *dims)),
                                      torch.diag_embed(torch.tensor(x), off, *dims).numpy())
