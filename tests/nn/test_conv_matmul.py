"""The convolutions' column-blocked products equal the plain ones."""

import numpy as np
import pytest

from torchlite.nn.functional import conv_matmul as cm


@pytest.mark.parametrize("G, m, k, n", [(1, 6, 25, 57344 + 77), (2, 3, 8, 3 * 37500 + 5),
                                        (1, 64, 288, 3136), (3, 2, 2, 10)])
def test_blocked_products_match_numpy(G, m, k, n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((G, k, m), dtype=np.float32).transpose(0, 2, 1)  # a strided view
    b = rng.standard_normal((G, k, n), dtype=np.float32)
    g = rng.standard_normal((G, m, n), dtype=np.float32)
    blocked = cm._blocks(np, m, k, n, cm.MIN_BLOCK)
    assert bool(blocked) == (m * k < 1000 and n > 100)  # the shapes above: blocks or not
    ref = np.matmul(a.astype(np.float64), b)
    np.testing.assert_allclose(cm.matmul(a, b), ref, rtol=1e-5, atol=1e-4)
    ref_t = np.matmul(g.astype(np.float64), b.transpose(0, 2, 1))
    np.testing.assert_allclose(cm.matmul_t(g, b), ref_t, rtol=1e-5, atol=1e-3)


def test_blocks_stay_under_the_size_limit_and_skip_narrow_products():
    c = cm._blocks(np, 6, 25, 57344, cm.MIN_BLOCK)
    assert c and 6 * 25 * c <= cm.BLOCK_MACS
    assert not cm._blocks(np, 64, 288, 10**6, cm.MIN_BLOCK)  # blocks would be too narrow
    assert not cm._blocks(np, 6, 25, 100, cm.MIN_BLOCK)  # too few columns to split
    assert not cm._blocks(np, 16, 150, 8960, cm.MIN_SUM_BLOCK)
