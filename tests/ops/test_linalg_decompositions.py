"""torch.linalg's inverses and decompositions: values against NumPy, float64 gradchecks (and
second derivatives through the same formulas), the errors PyTorch raises, and PyTorch parity."""

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite
from torchlite import linalg
from torchlite.autograd.gradcheck import gradgradcheck

T = torchlite.tensor


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def well_conditioned(n, batch=(), seed=0):
    """Random matrices with eigenvalues kept away from 0: A + n I for A with entries ~N(0, 1)."""
    return rand(*batch, n, n, seed=seed) + n * np.eye(n)


def spd(n, batch=(), seed=0):
    a = rand(*batch, n, n, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def leaf64(a):
    return T(a, dtype=torchlite.float64, requires_grad=True)


# -- values ---------------------------------------------------------------------------------------
def test_values_match_numpy_batched_float32_and_float64():
    for dtype in (np.float32, np.float64):
        a = well_conditioned(4, (2, 3)).astype(dtype)
        s = spd(4, (2,)).astype(dtype)
        b = rand(2, 3, 4, 2).astype(dtype)
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10)
        for got, want in (
                (linalg.inv(T(a)), np.linalg.inv(a)),
                (linalg.det(T(a)), np.linalg.det(a)),
                (linalg.slogdet(T(a)).logabsdet, np.linalg.slogdet(a)[1]),
                (linalg.slogdet(T(a)).sign, np.linalg.slogdet(a)[0]),
                (linalg.solve(T(a), T(b)), np.linalg.solve(a, b)),
                (linalg.cholesky(T(s)), np.linalg.cholesky(s)),
                (linalg.cholesky(T(s), upper=True), np.swapaxes(np.linalg.cholesky(s), -1, -2)),
                (linalg.eigvalsh(T(s)), np.linalg.eigvalsh(s)),
                (linalg.svdvals(T(b)), np.linalg.svd(b, compute_uv=False))):
            assert got.dtype == torchlite.tensor(want.astype(dtype)).dtype
            np.testing.assert_allclose(to_np(got), want, **tol)


def test_decompositions_reconstruct_their_input():
    a = rand(2, 5, 3)
    q, r = linalg.qr(T(a))
    assert tuple(q.shape) == (2, 5, 3) and tuple(r.shape) == (2, 3, 3)
    np.testing.assert_allclose(to_np(q @ r), a, atol=1e-12)
    np.testing.assert_allclose(to_np(r), np.triu(to_np(r)))
    q, r = linalg.qr(T(a), mode="complete")
    assert tuple(q.shape) == (2, 5, 5) and tuple(r.shape) == (2, 5, 3)
    np.testing.assert_allclose(to_np(q @ r), a, atol=1e-12)
    q, r = linalg.qr(T(a), mode="r")
    assert q.numel() == 0 and tuple(r.shape) == (2, 3, 3)
    wide = rand(3, 5)
    q, r = linalg.qr(T(wide))
    assert tuple(q.shape) == (3, 3) and tuple(r.shape) == (3, 5)
    np.testing.assert_allclose(to_np(q @ r), wide, atol=1e-12)
    for m, n, full in ((5, 3, True), (3, 5, True), (5, 3, False), (4, 4, True)):
        x = rand(m, n)
        u, s, vh = linalg.svd(T(x), full_matrices=full)
        k = min(m, n)
        assert tuple(u.shape) == ((m, m) if full else (m, k))
        assert tuple(vh.shape) == ((n, n) if full else (k, n))
        np.testing.assert_allclose(to_np(u[:, :k] * s) @ to_np(vh[:k]), x, atol=1e-12)
        np.testing.assert_allclose(to_np(u.mT @ u), np.eye(u.shape[-1]), atol=1e-12)
        np.testing.assert_allclose(to_np(vh @ vh.mT), np.eye(vh.shape[-1]), atol=1e-12)
    s = spd(4)
    w, v = linalg.eigh(T(s))
    np.testing.assert_allclose(to_np(v * w) @ to_np(v).T, s, atol=1e-12)
    # UPLO picks the triangle read: an upper triangle full of junk is ignored with 'L'
    junk = np.tril(s) + np.triu(rand(4, 4, seed=3), 1)
    np.testing.assert_allclose(to_np(linalg.eigvalsh(T(junk))), np.linalg.eigvalsh(s))
    np.testing.assert_allclose(to_np(linalg.eigvalsh(T(junk.T), UPLO="U")),
                               np.linalg.eigvalsh(s))


def test_solve_vector_and_broadcast_and_left_false():
    a = well_conditioned(3, (2,))
    b = rand(2, 3)  # a batch of vectors: one dim fewer than A, A's leading shape
    x = linalg.solve(T(a), T(b))
    np.testing.assert_allclose(to_np(x), np.linalg.solve(a, b[..., None])[..., 0])
    v = rand(3)
    np.testing.assert_allclose(to_np(linalg.solve(T(a), T(v))),
                               np.linalg.solve(a, np.broadcast_to(v, (2, 3))[..., None])[..., 0])
    one = well_conditioned(3)
    bb = rand(4, 3, 2)  # A broadcast over B's batch
    np.testing.assert_allclose(to_np(linalg.solve(T(one), T(bb))),
                               np.linalg.solve(one, bb))
    xl = rand(2, 3)
    got = linalg.solve(T(one), T(xl), left=False)  # X A = B
    np.testing.assert_allclose(to_np(got) @ one, xl, atol=1e-12)


def test_det_of_singular_and_empty_matrices():
    assert linalg.det(T(np.zeros((3, 3)))).item() == 0.0
    assert linalg.det(T(np.zeros((0, 0)))).item() == 1.0
    sign, logabs = linalg.slogdet(T(np.ones((2, 2))))
    assert sign.item() == 0.0 and logabs.item() == -np.inf
    assert np.isnan(torchlite.logdet(T(-np.eye(3))).item())
    assert torchlite.logdet(T(np.zeros((2, 2)))).item() == -np.inf


# -- gradients ------------------------------------------------------------------------------------
def test_gradcheck_inverse_determinant_solve():
    a = well_conditioned(3, (2,))
    check_grad(linalg.inv, a)
    check_grad(linalg.det, a)
    check_grad(lambda x: linalg.slogdet(x).logabsdet, a)
    check_grad(lambda x: linalg.slogdet(-x).logabsdet, a)  # a negative determinant too
    check_grad(linalg.solve, a, rand(2, 3, 2))
    check_grad(linalg.solve, a, rand(2, 3))  # vectors
    check_grad(lambda x, b: linalg.solve(x, b, left=False), a, rand(2, 4, 3))
    check_grad(linalg.solve, well_conditioned(3), rand(4, 3, 2))  # A broadcast: grads summed


def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix():
    for m in (np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]])):
        x = leaf64(m)
        linalg.det(x).backward()
        # d det / dA = adj(A)^T: the matrix of cofactors
        n = len(m)
        cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1))
                         for j in range(n)] for i in range(n)])
        np.testing.assert_allclose(to_np(x.grad), cof, atol=1e-10)
    check_grad(linalg.det, np.array([[1.0, 2.0], [2.0, 4.0]]))


def test_gradcheck_cholesky():
    x = rand(2, 3, 3)

    def fn(x):  # a symmetric positive-definite function of x
        return linalg.cholesky(x @ x.mT + 3 * torchlite.eye(3, dtype=torchlite.float64))

    check_grad(fn, x)
    check_grad(lambda x: linalg.cholesky(x @ x.mT + 3 * torchlite.eye(3, dtype=x.dtype),
                                         upper=True), x)


def test_gradcheck_qr_tall_square_and_wide():
    for shape in ((5, 3), (3, 3), (2, 4, 3), (3, 5)):
        check_grad(lambda x: tuple(linalg.qr(x)), rand(*shape))
    check_grad(lambda x: linalg.qr(x, mode="complete").R, rand(3, 3))


def test_gradcheck_eigh():
    x = rand(2, 4, 4)

    def sym(x):
        return x + x.mT

    check_grad(lambda x: linalg.eigh(sym(x)).eigenvalues, x)
    # eigenvectors are defined up to sign: check sign-independent functions of them
    check_grad(lambda x: linalg.eigh(sym(x)).eigenvectors ** 2, x)
    check_grad(lambda x: (lambda w, v: (v * w.unsqueeze(-2)) @ v.mT)(*linalg.eigh(sym(x))), x)
    check_grad(lambda x: linalg.eigvalsh(sym(x), UPLO="U"), x)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 3)])
def test_gradcheck_svd(shape):
    x = rand(*shape, seed=1)
    check_grad(linalg.svdvals, x)
    for full in (False, True):
        def invariant(x, full=full):
            # U and Vh up to a joint sign per singular pair: U diag(S) Vh, U^2 and Vh^2
            u, s, vh = linalg.svd(x, full_matrices=full)
            k = s.shape[-1]
            return (u[..., :k] * s.unsqueeze(-2)) @ vh[..., :k, :], u[..., :k] ** 2, \
                vh[..., :k, :] ** 2
        check_grad(invariant, x)


def test_second_derivatives_come_from_the_same_formulas():
    a = leaf64(well_conditioned(3, seed=2))
    b = leaf64(rand(3, 2, seed=3))
    assert gradgradcheck(linalg.inv, [a])
    assert gradgradcheck(linalg.det, [a])
    assert gradgradcheck(lambda x: linalg.slogdet(x).logabsdet, [a])
    assert gradgradcheck(linalg.solve, [a, b])
    x = leaf64(rand(3, 3, seed=4))
    assert gradgradcheck(lambda x: linalg.cholesky(
        x @ x.mT + 3 * torchlite.eye(3, dtype=x.dtype)), [x])
    assert gradgradcheck(lambda x: linalg.eigvalsh(x + x.mT), [x])
    assert gradgradcheck(lambda x: linalg.svdvals(x), [x])
    assert gradgradcheck(lambda x: linalg.qr(x).R, [leaf64(rand(4, 3, seed=5))])


# -- errors ---------------------------------------------------------------------------------------
def test_errors_name_the_op_and_the_problem():
    with pytest.raises(linalg.LinAlgError, match="linalg.inv.*singular"):
        linalg.inv(T(np.zeros((2, 2))))
    assert issubclass(linalg.LinAlgError, RuntimeError)
    with pytest.raises(linalg.LinAlgError, match="linalg.solve.*singular"):
        linalg.solve(T(np.zeros((2, 2))), T(np.ones((2, 1))))
    with pytest.raises(linalg.LinAlgError, match="linalg.cholesky.*positive-definite"):
        linalg.cholesky(T(-np.eye(2)))
    with pytest.raises(RuntimeError, match="square matrices, but they are 2 by 3"):
        linalg.inv(T(np.zeros((2, 3))))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        linalg.det(T(np.zeros(3)))
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as "
                                           "input. Got Long"):
        linalg.inv(T([[1, 2], [3, 4]]))
    with pytest.raises(RuntimeError, match="Low precision dtypes not supported. Got Half"):
        linalg.inv(T(np.eye(2), dtype=torchlite.float16))
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B.*2x2 and 3x1"):
        linalg.solve(T(np.eye(2)), T(np.zeros(3)))
    with pytest.raises(RuntimeError, match="same dtype"):
        linalg.solve(T(np.eye(2)), T(np.zeros(2), dtype=torchlite.float32))
    with pytest.raises(RuntimeError, match="UPLO"):
        linalg.eigh(T(np.eye(2)), UPLO="X")
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        linalg.qr(T(np.eye(2)), mode="full")
    q, r = linalg.qr(leaf64(rand(4, 2)), mode="complete")  # PyTorch refuses in backward
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        r.sum().backward()


def test_tensor_methods_and_top_level_names():
    a = T(well_conditioned(3))
    np.testing.assert_allclose(to_np(a.inverse()), np.linalg.inv(to_np(a)))
    np.testing.assert_allclose(to_np(torchlite.inverse(a)), np.linalg.inv(to_np(a)))
    assert a.det().item() == pytest.approx(np.linalg.det(to_np(a)))
    assert torchlite.det(a).item() == pytest.approx(np.linalg.det(to_np(a)))
    u, s, v = torchlite.svd(T(rand(4, 3)))  # the old API: V, not Vh
    np.testing.assert_allclose(to_np(u * s) @ to_np(v).T, rand(4, 3), atol=1e-12)
    u, s, v = T(rand(4, 3)).svd(some=False)
    assert tuple(u.shape) == (4, 4) and tuple(v.shape) == (3, 3)
    u, s, v = torchlite.svd(T(rand(4, 3)), compute_uv=False)
    assert not to_np(u).any() and not to_np(v).any()
    q, r = torchlite.qr(T(rand(4, 3)))
    assert tuple(q.shape) == (4, 3)
    s = T(spd(3))
    low = s.cholesky()
    np.testing.assert_allclose(to_np(low @ low.mT), to_np(s), atol=1e-12)
    b = T(rand(3, 2))
    np.testing.assert_allclose(to_np(torchlite.cholesky_solve(b, low)),
                               np.linalg.solve(to_np(s), to_np(b)), atol=1e-12)
    np.testing.assert_allclose(to_np(torchlite.cholesky_solve(b, low.mT, upper=True)),
                               np.linalg.solve(to_np(s), to_np(b)), atol=1e-12)
    np.testing.assert_allclose(to_np(low.cholesky_inverse()), np.linalg.inv(to_np(s)),
                               atol=1e-12)
    sign, logabs = a.slogdet()
    assert sign.item() * np.exp(logabs.item()) == pytest.approx(np.linalg.det(to_np(a)))


# -- PyTorch --------------------------------------------------------------------------------------
@pytest.mark.parity
def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    x = well_conditioned(3, (2,), seed=7)
    s = spd(3, (2,), seed=8)
    b = rand(2, 3, 2, seed=9)
    t = rand(4, 3, seed=10)

    def both(fn):
        """fn(lib, *leaves) in torchlite and torch: its value and the gradients of its sum
        weighted by fixed numbers."""
        results = []
        for lib in (torchlite, torch):
            leaves = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in (x, s, b, t)]
            out = fn(lib, *leaves)
            w = lib.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
            (out * w).sum().backward()
            results.append([np.asarray(out.detach().numpy())]
                           + [np.asarray(lf.grad.numpy()) if lf.grad is not None else None
                              for lf in leaves])
        for mine, theirs in zip(*results):
            if mine is None or theirs is None:
                assert mine is None and theirs is None
            else:
                np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-10)

    both(lambda lib, x, s, b, t: lib.linalg.inv(x))
    both(lambda lib, x, s, b, t: lib.linalg.det(x))
    both(lambda lib, x, s, b, t: lib.linalg.slogdet(x).logabsdet)
    both(lambda lib, x, s, b, t: lib.linalg.solve(x, b))
    both(lambda lib, x, s, b, t: lib.linalg.cholesky(s))
    both(lambda lib, x, s, b, t: lib.linalg.eigvalsh(s))
    both(lambda lib, x, s, b, t: lib.linalg.eigh(s).eigenvectors.abs())
    both(lambda lib, x, s, b, t: lib.linalg.svdvals(t))
    both(lambda lib, x, s, b, t: lib.linalg.svd(t, full_matrices=False).U.abs())
    both(lambda lib, x, s, b, t: lib.linalg.qr(t).R.abs())
    both(lambda lib, x, s, b, t: lib.linalg.qr(t).Q.abs())


def test_gradients_at_repeated_eigen_and_singular_values_when_only_values_are_used():
    # the identity and orthogonal matrices: no singular-vector term, so finite gradients
    for fn, want in ((lambda x: linalg.eigvalsh(x).sum(), np.eye(3)),
                     (lambda x: linalg.svdvals(x).sum(), np.eye(3)),
                     (lambda x: linalg.svd(x).S.sum(), np.eye(3)),
                     (lambda x: linalg.matrix_norm(x, "nuc"), np.eye(3)),
                     (lambda x: linalg.eigh(x).eigenvalues.sum(), np.eye(3))):
        x = leaf64(np.eye(3))
        fn(x).backward()
        np.testing.assert_allclose(to_np(x.grad), want, atol=1e-12)
    q = np.linalg.qr(rand(4, 4, seed=5))[0]
    x = leaf64(2 * q)
    linalg.matrix_norm(x, 2).backward()  # the spectral norm of an orthogonal weight
    assert np.isfinite(to_np(x.grad)).all()


def test_cholesky_upper_reads_the_upper_triangle_and_qr_r_mode_has_a_gradient():
    a = np.array([[4.0, 2.0], [100.0, 3.0]])  # junk below the diagonal
    u = linalg.cholesky(T(a), upper=True)
    np.testing.assert_allclose(to_np(u), np.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]])).T)
    check_grad(lambda x: linalg.cholesky(x @ x.mT + 3 * torchlite.eye(3, dtype=x.dtype),
                                         upper=True), rand(3, 3))
    x = leaf64(rand(4, 3))
    q, r = linalg.qr(x, mode="r")
    assert q.numel() == 0
    np.testing.assert_allclose(np.abs(to_np(r)), np.abs(np.linalg.qr(to_np(x), mode="r")),
                               atol=1e-12)
    check_grad(lambda t: linalg.qr(t, mode="r").R, rand(4, 3))
