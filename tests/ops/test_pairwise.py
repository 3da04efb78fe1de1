"""cdist (torchlite/ops/pairwise.py): forward vs NumPy for each p and compute mode, float64
gradchecks (including coincident points), broadcasting, errors, parity."""

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, leaf, to_np

import torchlite

MODES = ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
         "donot_use_mm_for_euclid_dist"]


def _np_cdist(a, b, p):
    diff = np.abs(a[..., :, None, :] - b[..., None, :, :]).astype(np.float64)
    if p == 0:
        d = (diff != 0).sum(-1)
    elif p == np.inf:
        d = diff.max(-1)
    else:
        d = (diff ** p).sum(-1) ** (1 / p)
    return d.astype(a.dtype)


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, 0.5, float("inf")])
@pytest.mark.parametrize("mode", MODES)
def test_forward_matches_numpy(p, mode, device):
    a, b = data((2, 4, 3), 1), data((2, 5, 3), 2)
    check_forward(lambda x, y: torchlite.cdist(x, y, p, mode), lambda x, y: _np_cdist(x, y, p),
                  a, b, device=device, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf")])
@pytest.mark.parametrize("mode", [MODES[1], MODES[2]])
def test_gradcheck(p, mode):
    check_grad(lambda x, y: torchlite.cdist(x, y, p, compute_mode=mode),
               data((2, 3, 4), 3), data((2, 5, 4), 4))


def test_large_default_mode_uses_matmul_and_matches():
    a, b = data((30, 6), 5), data((40, 6), 6)
    out = torchlite.cdist(torchlite.tensor(a), torchlite.tensor(b))
    np.testing.assert_allclose(to_np(out), _np_cdist(a, b, 2), rtol=1e-10)
    check_grad(lambda x, y: torchlite.cdist(x, y), data((27, 3), 7), data((4, 3), 8))


def test_coincident_points_have_zero_distance_and_zero_gradient():
    pts = np.array([[0.0, 1.0], [2.0, -1.0]])
    for mode in MODES[1:]:
        for p in (2.0, 0.5, 3.0):
            x = leaf(pts)
            y = leaf(pts[::-1].copy())
            d = torchlite.cdist(x, y, p, mode)
            assert d[0, 1].item() == 0.0 and d[1, 0].item() == 0.0
            d.sum().backward()
            assert np.isfinite(to_np(x.grad)).all() and np.isfinite(to_np(y.grad)).all()


def test_batch_dims_broadcast():
    a, b = data((3, 1, 4, 2), 9), data((5, 6, 2), 10)
    out = torchlite.cdist(torchlite.tensor(a), torchlite.tensor(b))
    assert tuple(out.shape) == (3, 5, 4, 6)
    np.testing.assert_allclose(to_np(out), _np_cdist(a, b, 2), rtol=1e-10)
    check_grad(lambda x, y: torchlite.cdist(x, y, 1.5), data((2, 1, 3, 2), 11),
               data((4, 2, 2), 12))


def test_errors():
    a = torchlite.ones(3, 2)
    with pytest.raises(RuntimeError, match="same number of columns"):
        torchlite.cdist(a, torchlite.ones(3, 4))
    with pytest.raises(RuntimeError, match="non-negative"):
        torchlite.cdist(a, a, p=-1)
    with pytest.raises(RuntimeError, match="floating-point"):
        torchlite.cdist(torchlite.ones(3, 2, dtype=torchlite.int64), a)
    with pytest.raises(RuntimeError, match="at least 2D"):
        torchlite.cdist(torchlite.ones(3), a)
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        torchlite.cdist(torchlite.ones(2, 3, 2), torchlite.ones(4, 3, 2))
    with pytest.raises(ValueError, match="compute_mode"):
        torchlite.cdist(a, a, compute_mode="fast")


@pytest.mark.parity
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("n", [4, 30])
def test_parity(p, n):
    torch = pytest.importorskip("torch")
    a, b = data((2, n, 5), 13).astype(np.float32), data((2, 7, 5), 14).astype(np.float32)
    x, y = torchlite.tensor(a, requires_grad=True), torchlite.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, ref = torchlite.cdist(x, y, p), torch.cdist(tx, ty, p)
    np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    w = data(tuple(ref.shape), 15).astype(np.float32)
    (out * torchlite.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_np(y.grad), ty.grad.numpy(), rtol=1e-4, atol=1e-5)
