"""tensordot, kron, cross, vdot, trace, baddbmm, addbmm, addmv, addr: NumPy references,
float64 gradchecks and PyTorch parity."""

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite

T = torchlite.tensor


def test_values_match_numpy():
    a, b = data((3, 4, 5), 0), data((4, 5, 6), 1)
    np.testing.assert_allclose(to_np(torchlite.tensordot(T(a), T(b), 2)),
                               np.tensordot(a, b, 2))
    c = data((5, 4, 2), 2)
    np.testing.assert_allclose(to_np(torchlite.tensordot(T(a), T(c), ([1, 2], [1, 0]))),
                               np.tensordot(a, c, ([1, 2], [1, 0])))
    m, n = data((2, 3), 3), data((3, 2), 4)
    np.testing.assert_allclose(to_np(torchlite.kron(T(m), T(n))), np.kron(m, n))
    u, v = data((4, 3), 5), data((4, 3), 6)
    np.testing.assert_allclose(to_np(torchlite.cross(T(u), T(v), dim=1)), np.cross(u, v))
    np.testing.assert_allclose(to_np(torchlite.cross(T(u.T), T(v.T))), np.cross(u, v).T)
    assert torchlite.vdot(T([1.0, 2.0]), T([3.0, 4.0])).item() == 11.0
    assert T(np.arange(9.0).reshape(3, 3)).trace().item() == 12.0
    i, b1, b2 = data((2, 3, 4), 7), data((2, 3, 5), 8), data((2, 5, 4), 9)
    np.testing.assert_allclose(to_np(torchlite.baddbmm(T(i), T(b1), T(b2), beta=0.5, alpha=2)),
                               0.5 * i + 2 * b1 @ b2)
    np.testing.assert_allclose(to_np(torchlite.addbmm(T(i[0]), T(b1), T(b2))),
                               i[0] + (b1 @ b2).sum(0))
    nan = T(np.full((2, 3, 4), np.nan))
    assert not np.isnan(to_np(torchlite.baddbmm(nan, T(b1), T(b2), beta=0))).any()
    mat, vec = data((3, 5), 10), data((5,), 11)
    np.testing.assert_allclose(to_np(torchlite.addmv(T(i[0, :, 0]), T(mat), T(vec))),
                               i[0, :, 0] + mat @ vec)
    np.testing.assert_allclose(to_np(torchlite.addr(T(m), T(vec[:2]), T(vec[:3]), beta=2)),
                               2 * m + np.outer(vec[:2], vec[:3]))
    with pytest.raises(RuntimeError, match="length 3"):
        torchlite.cross(T(u), T(v), dim=0)


def test_gradchecks():
    check_grad(lambda a, b: torchlite.tensordot(a, b, ([0], [1])), data((3, 2), 0),
               data((2, 3), 1))
    check_grad(torchlite.kron, data((2, 2), 2), data((2, 3), 3))
    check_grad(lambda a, b: torchlite.cross(a, b, dim=-1), data((2, 3), 4), data((2, 3), 5))
    check_grad(torchlite.trace, data((3, 3), 6))
    check_grad(lambda i, a, b: torchlite.addmv(i, a, b, beta=0.3, alpha=2), data((3,), 7),
               data((3, 2), 8), data((2,), 9))


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    a, b = data((2, 3), 0), data((3, 2), 1)
    assert np.allclose(to_np(torchlite.kron(T(a), T(b))),
                       torch.kron(torch.tensor(a), torch.tensor(b)).numpy())
    i, b1, b2 = data((3, 4), 2), data((2, 3, 5), 3), data((2, 5, 4), 4)
    np.testing.assert_allclose(
        to_np(torchlite.addbmm(T(i), T(b1), T(b2), beta=0.5, alpha=2)),
        torch.addbmm(torch.tensor(i), torch.tensor(b1), torch.tensor(b2), beta=0.5,
                     alpha=2).numpy())
