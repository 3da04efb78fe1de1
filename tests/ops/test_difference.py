"""diff: n-th differences along a dim with prepend/append, bool XOR, gradients, parity."""

import numpy as np
import pytest
from _core_checks import check_grad, data

import torchlite


def test_diff_matches_numpy_and_gradchecks():
    x = data((3, 5, 4), 0)
    for n in range(4):
        for d in (0, 1, -1):
            np.testing.assert_allclose(torchlite.diff(torchlite.tensor(x), n, d).numpy(),
                                       np.diff(x, n, d))
    pre, app = data((3, 1, 4), 1), data((3, 2, 4), 2)
    got = torchlite.diff(torchlite.tensor(x), dim=1, prepend=torchlite.tensor(pre),
                         append=torchlite.tensor(app))
    np.testing.assert_allclose(got.numpy(), np.diff(np.concatenate([pre, x, app], 1), axis=1))
    assert torchlite.diff(torchlite.tensor([True, False, False, True])).tolist() == \
        [True, False, True]
    check_grad(lambda t: torchlite.diff(t, 2, 1), x)
    assert torchlite.autograd.gradgradcheck(lambda t: torchlite.diff(t) ** 2,
                                            [torchlite.tensor(x[0], requires_grad=True)])
    with pytest.raises(RuntimeError, match="one-dimensional"):
        torchlite.diff(torchlite.tensor(1.0))
