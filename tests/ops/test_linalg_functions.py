"""torch.linalg's norms and the functions built from its decompositions (pinv, matrix_rank,
matrix_power, multi_dot, lstsq, solve_triangular, vecdot, cond, the *_ex forms): NumPy
references, float64 gradchecks and PyTorch parity."""

import math

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite
from torchlite import linalg

T = torchlite.tensor


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


MATRIX_ORDS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms_match_numpy_and_gradcheck(ord):
    a = rand(2, 4, 3)
    got = linalg.matrix_norm(T(a), ord)
    np.testing.assert_allclose(to_np(got), np.linalg.norm(a, ord, axis=(-2, -1)), rtol=1e-12)
    kept = linalg.matrix_norm(T(a), ord, dim=(0, 2), keepdim=True)
    want = np.linalg.norm(a, ord, axis=(0, 2), keepdims=True)
    assert tuple(kept.shape) == want.shape
    np.testing.assert_allclose(to_np(kept), want, rtol=1e-12)
    check_grad(lambda x: linalg.matrix_norm(x, ord), a)
    np.testing.assert_allclose(to_np(linalg.norm(T(a[0]), ord)), np.linalg.norm(a[0], ord))


@pytest.mark.parametrize("ord", [2, 1, 3.5, -1.5, math.inf, -math.inf, 0])
def test_vector_norms_match_numpy(ord):
    x = rand(3, 5)
    np.testing.assert_allclose(to_np(linalg.vector_norm(T(x), ord)),
                               np.linalg.norm(x.ravel(), ord), rtol=1e-12)
    np.testing.assert_allclose(to_np(linalg.vector_norm(T(x), ord, dim=1, keepdim=True)),
                               np.linalg.norm(x, ord, axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(to_np(linalg.norm(T(x), ord, dim=0)),
                               np.linalg.norm(x, ord, axis=0), rtol=1e-12)
    if ord != 0:
        check_grad(lambda t: linalg.vector_norm(t, ord, dim=(0, 1)), x)


def test_norm_dispatch_and_zero_gradient():
    x = rand(2, 3, 4)
    np.testing.assert_allclose(to_np(linalg.norm(T(x))), np.linalg.norm(x.ravel()))
    np.testing.assert_allclose(to_np(linalg.norm(T(x), dim=(1, 2))),
                               np.linalg.norm(x, axis=(1, 2)))
    with pytest.raises(RuntimeError, match="must be 1D or 2D"):
        linalg.norm(T(x), 2)
    z = T(np.zeros(3), requires_grad=True)
    linalg.vector_norm(z).backward()  # the subgradient 0 at the origin, as PyTorch
    assert not to_np(z.grad).any()
    with pytest.raises(RuntimeError, match="empty tensor"):
        linalg.vector_norm(T(np.zeros(0)), math.inf)


def test_pinv_rank_power_multidot_match_numpy():
    tall = rand(5, 3)
    np.testing.assert_allclose(to_np(linalg.pinv(T(tall))), np.linalg.pinv(tall), atol=1e-12)
    low_rank = rand(5, 2) @ rand(2, 4, seed=1)
    np.testing.assert_allclose(to_np(linalg.pinv(T(low_rank))), np.linalg.pinv(low_rank),
                               atol=1e-10)
    assert linalg.matrix_rank(T(low_rank)).item() == 2
    assert linalg.matrix_rank(T(low_rank)).dtype == torchlite.int64
    assert linalg.matrix_rank(T(np.eye(3) * [1, 1e-3, 0]), atol=1e-2).item() == 1
    sym = low_rank.T @ low_rank
    np.testing.assert_allclose(to_np(linalg.pinv(T(sym), hermitian=True)), np.linalg.pinv(sym),
                               atol=1e-8)
    assert linalg.matrix_rank(T(sym), hermitian=True).item() == 2
    a = rand(2, 3, 3)
    for n in (0, 1, 2, 5, -1, -3):
        np.testing.assert_allclose(to_np(linalg.matrix_power(T(a), n)),
                                   np.linalg.matrix_power(a, n), rtol=1e-9, atol=1e-12)
    chain = [rand(4), rand(4, 3, seed=1), rand(3, 5, seed=2), rand(5, seed=3)]
    np.testing.assert_allclose(to_np(linalg.multi_dot([T(c) for c in chain])),
                               np.linalg.multi_dot(chain))
    np.testing.assert_allclose(to_np(linalg.vecdot(T(a), T(a[0]))), (a * a[0]).sum(-1))
    np.testing.assert_allclose(to_np(linalg.cond(T(a))), np.linalg.cond(a))
    np.testing.assert_allclose(to_np(linalg.cond(T(a), "fro")), np.linalg.cond(a, "fro"))
    np.testing.assert_allclose(to_np(linalg.diagonal(T(a))), np.diagonal(a, 0, -2, -1))


def test_lstsq_and_solve_triangular():
    a, b = rand(6, 3), rand(6, 2, seed=1)
    sol = linalg.lstsq(T(a), T(b))
    want, res, rank, sv = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(to_np(sol.solution), want, atol=1e-12)
    assert sol.rank.item() == rank and sol.residuals.numel() == 0  # gelsy, as PyTorch's CPU
    full = linalg.lstsq(T(a), T(b), driver="gelsd")
    np.testing.assert_allclose(to_np(full.residuals), res, rtol=1e-10)
    np.testing.assert_allclose(to_np(full.singular_values), sv, rtol=1e-12)
    check_grad(lambda x, y: linalg.lstsq(x, y).solution, a, b)
    m = rand(2, 4, 4) + 4 * np.eye(4)
    rhs = rand(2, 4, 3, seed=2)
    for upper in (True, False):
        tri = np.triu(m) if upper else np.tril(m)
        x = linalg.solve_triangular(T(m), T(rhs), upper=upper)
        np.testing.assert_allclose(tri @ to_np(x), rhs, atol=1e-12)
        unit = np.triu(m, 1) + np.eye(4) if upper else np.tril(m, -1) + np.eye(4)
        x = linalg.solve_triangular(T(m), T(rhs), upper=upper, unitriangular=True)
        np.testing.assert_allclose(unit @ to_np(x), rhs, atol=1e-12)
        x = linalg.solve_triangular(T(m), T(rhs.swapaxes(-1, -2)), upper=upper, left=False)
        np.testing.assert_allclose(to_np(x) @ tri, rhs.swapaxes(-1, -2), atol=1e-12)
        check_grad(lambda t, r, u=upper: linalg.solve_triangular(t, r, upper=u), m, rhs)


def test_gradchecks_of_composed_functions():
    check_grad(linalg.pinv, rand(4, 3))
    check_grad(lambda x: linalg.matrix_power(x, 3), rand(3, 3))
    check_grad(lambda x: linalg.matrix_power(x, -2), rand(3, 3) + 3 * np.eye(3))
    check_grad(lambda *c: linalg.multi_dot(c), rand(3), rand(3, 4), rand(4, 2))
    check_grad(lambda x: linalg.cond(x), rand(3, 3))
    check_grad(lambda x, y: linalg.vecdot(x, y, dim=0), rand(3, 2), rand(3, 2))


def test_ex_forms_report_failures_per_matrix_in_info():
    inv, info = linalg.inv_ex(T(np.eye(2) * 2))
    assert info.item() == 0 and info.dtype == torchlite.int32
    np.testing.assert_allclose(to_np(inv), np.eye(2) / 2)
    batch = T(np.stack([np.eye(2) * 2, np.zeros((2, 2)), np.eye(2)]))
    inv, info = linalg.inv_ex(batch)  # the good matrices keep their inverses
    assert to_np(info).tolist() == [0, 1, 0]
    np.testing.assert_allclose(to_np(inv[0]), np.eye(2) / 2)
    assert np.isnan(to_np(inv[1])).all()
    np.testing.assert_allclose(to_np(inv[2]), np.eye(2))
    with pytest.raises(linalg.LinAlgError):
        linalg.inv_ex(T(np.zeros((2, 2))), check_errors=True)
    low, info = linalg.cholesky_ex(T(np.stack([np.eye(2), -np.eye(2)])))
    assert to_np(info).tolist() == [0, 1] and to_np(low[0]).tolist() == np.eye(2).tolist()
    x, info = linalg.solve_ex(T(np.eye(2)), T(np.ones(2)))
    assert info.item() == 0 and to_np(x).tolist() == [1.0, 1.0]
    x, info = linalg.solve_ex(T(np.zeros((2, 2))), T(np.ones(2)))
    assert info.item() == 1 and np.isnan(to_np(x)).all()
    out = (torchlite.empty(0), torchlite.empty(0, dtype=torchlite.int32))
    res = linalg.inv_ex(T(np.eye(2) * 4, dtype=torchlite.float32), out=out)
    assert res.inverse is out[0] and to_np(out[0]).tolist() == (np.eye(2) / 4).tolist()


def test_review_regressions():
    # linalg.cross: dim=-1 by default, even when an earlier dim has size 3
    a, b = np.eye(3), np.ones((3, 3))
    np.testing.assert_allclose(to_np(linalg.cross(T(a), T(b))), np.cross(a, b))
    # pinv's gradient at repeated singular values is the pseudo-inverse's own: finite
    x = T(2 * np.eye(3), dtype=torchlite.float64, requires_grad=True)
    linalg.pinv(x).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), -0.25 * np.ones((3, 3)))
    check_grad(linalg.pinv, rand(3, 5))
    check_grad(lambda t: linalg.pinv(t @ t.mT, hermitian=True), rand(3, 3))
    # the subgradient 0 at the origin for every order, and dim=() reducing everything
    z = T(np.zeros(3), dtype=torchlite.float64, requires_grad=True)
    linalg.vector_norm(z, 3.0).backward()
    assert to_np(z.grad).tolist() == [0.0, 0.0, 0.0]
    assert linalg.vector_norm(T(np.ones((2, 3))), dim=()).item() == pytest.approx(6 ** 0.5)
    # a zero atol keeps the default rtol; a tensor rtol per matrix of the batch
    assert linalg.matrix_rank(T(np.eye(3)), atol=T(0.0)).item() == 3
    assert to_np(linalg.matrix_rank(T(np.broadcast_to(np.eye(3), (2, 3, 3)).copy()),
                                    rtol=T([0.5, 2.0]))).tolist() == [3, 0]
    # cond of a singular matrix: inf (0 for p=-2), as PyTorch
    for p in (1, -1, math.inf, "fro", "nuc", None, 2):
        assert linalg.cond(T([[1.0, 0.0], [0.0, 0.0]]), p).item() == math.inf
    assert linalg.cond(T([[1.0, 0.0], [0.0, 0.0]]), -2).item() == 0.0
    # the older overloads, lowercase UPLO, empty matrices, dtype promotion, drivers
    np.testing.assert_allclose(to_np(linalg.pinv(T(np.eye(2) * 1e-3), 1e-2)),
                               np.eye(2) * 1000, rtol=1e-6)
    assert linalg.matrix_rank(T(np.eye(3) * 0.05), 0.1).item() == 0
    assert to_np(linalg.eigh(T(np.eye(2)), UPLO="l").eigenvalues).tolist() == [1.0, 1.0]
    assert linalg.matrix_norm(T(np.zeros((0, 0))), 2).item() == 0.0
    assert tuple(linalg.vector_norm(T(np.zeros((0, 3))), math.inf, dim=1).shape) == (0,)
    x = linalg.solve_triangular(T(np.eye(2)), T(np.ones((2, 1)), dtype=torchlite.float32),
                                upper=True)
    assert x.dtype == torchlite.float64
    with pytest.raises(RuntimeError, match="only supported on CUDA"):
        linalg.svd(T(np.eye(2)), driver="gesvd")
    with pytest.raises(RuntimeError, match="B must have at least 2 dimensions"):
        linalg.solve(T(np.eye(2)), T(1.0))
    # torch.svd without compute_uv: zero (m, m) and (n, n) matrices
    u, s, v = torchlite.svd(T(rand(5, 3)), compute_uv=False)
    assert tuple(u.shape) == (5, 5) and tuple(v.shape) == (3, 3)
    out = (torchlite.empty(0), torchlite.empty(0), torchlite.empty(0))
    res = torchlite.svd(T(rand(5, 3), dtype=torchlite.float32), out=out)
    assert res.U is out[0] and tuple(out[2].shape) == (3, 3)


def test_argument_errors():
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        linalg.matrix_norm(T(np.eye(2)), 3)
    with pytest.raises(RuntimeError, match="numeric ord"):
        linalg.vector_norm(T(np.eye(2)), "fro")
    with pytest.raises(TypeError, match="integer exponent"):
        linalg.matrix_power(T(np.eye(2)), 1.5)
    with pytest.raises(RuntimeError, match="square matrices"):
        linalg.matrix_power(T(np.zeros((2, 3))), 2)
    with pytest.raises(RuntimeError, match="at least 2 tensors"):
        linalg.multi_dot([T(np.eye(2))])
    with pytest.raises(RuntimeError, match="tensor 1 must be 2D"):
        linalg.multi_dot([T(np.eye(2)), T(np.zeros((2, 2, 2)))])
    with pytest.raises(RuntimeError, match="driver"):
        linalg.lstsq(T(np.eye(2)), T(np.eye(2)), driver="magic")


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    a = rand(2, 4, 3, seed=3)
    sq = rand(3, 3, seed=4) + 3 * np.eye(3)
    for fn in (lambda L, x, s: L.linalg.matrix_norm(x, "nuc"),
               lambda L, x, s: L.linalg.matrix_norm(x, 2),
               lambda L, x, s: L.linalg.matrix_norm(x, -math.inf),
               lambda L, x, s: L.linalg.vector_norm(x, 3.0, dim=-1),
               lambda L, x, s: L.linalg.norm(x, dim=(1, 2)),
               lambda L, x, s: L.linalg.pinv(x),
               lambda L, x, s: L.linalg.cond(s),
               lambda L, x, s: L.linalg.matrix_power(s, -2),
               lambda L, x, s: L.linalg.solve_triangular(s, x[0].mT, upper=True),
               lambda L, x, s: L.linalg.lstsq(x[0], x[1]).solution,
               lambda L, x, s: L.pinverse(x[0]),
               lambda L, x, s: L.logdet(s),
               lambda L, x, s: L.cholesky_inverse(L.linalg.cholesky(s @ s.mT))):
        out = []
        for lib in (torchlite, torch):
            x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
            s = lib.tensor(sq, dtype=lib.float64, requires_grad=True)
            y = fn(lib, x, s)
            y.sum().backward()
            out.append((y.detach().numpy(), None if x.grad is None else x.grad.numpy(),
                        None if s.grad is None else s.grad.numpy()))
        for mine, theirs in zip(*out):
            if mine is None or theirs is None:
                assert mine is None and theirs is None
            else:
                np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-10)
        assert torchlite.linalg.matrix_rank(T(a)).tolist() == \
            torch.linalg.matrix_rank(torch.tensor(a)).tolist()
