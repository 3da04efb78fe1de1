"""torch.distributions: densities, entropies, moments and KL divergences against closed forms
computed with NumPy (and against PyTorch where it is installed), float64 gradchecks of log_prob
and KL with respect to the parameters, sample statistics under a fixed seed, reparameterised
gradients, shapes, and argument validation with PyTorch's messages."""

import math

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite
from torchlite import distributions as D

T = torchlite.tensor
F64 = torchlite.float64


def t64(a):
    return T(a, dtype=F64)


def test_normal_matches_its_formulas():
    loc, scale = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 3.0])
    d = D.Normal(t64(loc), t64(scale))
    x = np.array([0.3, 1.2, 4.0])
    np.testing.assert_allclose(to_np(d.log_prob(t64(x))), -(x - loc) ** 2 / (2 * scale ** 2)
                               - np.log(scale * np.sqrt(2 * np.pi)))
    np.testing.assert_allclose(to_np(d.entropy()), 0.5 * np.log(2 * np.pi * np.e * scale ** 2))
    cdf = 0.5 * (1 + np.vectorize(math.erf)((x - loc) / (scale * np.sqrt(2))))
    np.testing.assert_allclose(to_np(d.cdf(t64(x))), cdf)
    np.testing.assert_allclose(to_np(d.icdf(t64(cdf))), x, rtol=1e-9)
    np.testing.assert_allclose(to_np(d.variance), scale ** 2)
    assert d.batch_shape == torchlite.Size([3]) and d.event_shape == torchlite.Size([])


def test_other_densities_match_their_formulas():
    x = np.array([0.2, 1.5, 3.0])
    rate = np.array([0.5, 1.0, 2.0])
    e = D.Exponential(t64(rate))
    np.testing.assert_allclose(to_np(e.log_prob(t64(x))), np.log(rate) - rate * x)
    np.testing.assert_allclose(to_np(e.entropy()), 1 - np.log(rate))
    np.testing.assert_allclose(to_np(e.icdf(e.cdf(t64(x)))), x)
    lap = D.Laplace(t64([0.0, 1.0, 2.0]), t64(rate))
    np.testing.assert_allclose(to_np(lap.log_prob(t64(x))),
                               -np.log(2 * rate) - np.abs(x - [0, 1, 2]) / rate)
    np.testing.assert_allclose(to_np(lap.icdf(lap.cdf(t64(x)))), x)
    np.testing.assert_allclose(to_np(lap.entropy()), 1 + np.log(2 * rate))
    np.testing.assert_allclose(to_np(lap.variance), 2 * rate ** 2)
    np.testing.assert_allclose(to_np(e.variance), rate ** -2.0)
    u = D.Uniform(t64([0.0, 1.0, -1.0]), t64([1.0, 3.0, 4.0]))
    np.testing.assert_allclose(to_np(u.log_prob(t64([0.5, 2.0, 0.0]))), -np.log([1, 2, 5]))
    np.testing.assert_allclose(to_np(u.entropy()), np.log([1, 2, 5]))
    lam = np.array([0.5, 3.0])
    k = np.array([2.0, 0.0])
    p = D.Poisson(t64(lam))
    want = k * np.log(lam) - lam - np.array([math.lgamma(v + 1) for v in k])
    np.testing.assert_allclose(to_np(p.log_prob(t64(k))), want)
    probs = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    c = D.Categorical(probs=t64(probs * 2))  # normalised over the last dim
    np.testing.assert_allclose(to_np(c.probs), probs)
    np.testing.assert_allclose(to_np(c.log_prob(T([2, 0]))), np.log([0.5, 0.6]))
    np.testing.assert_allclose(to_np(c.entropy()), -(probs * np.log(probs)).sum(-1))
    b = D.Bernoulli(logits=t64([0.0, 2.0]))
    pr = 1 / (1 + np.exp(-np.array([0.0, 2.0])))
    np.testing.assert_allclose(to_np(b.probs), pr)
    np.testing.assert_allclose(to_np(b.log_prob(t64([1.0, 0.0]))), np.log([pr[0], 1 - pr[1]]))


def test_multivariate_normal_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    loc = np.array([1.0, -1.0, 0.5])
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    diff = x - loc
    maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    want = -0.5 * (3 * np.log(2 * np.pi) + np.log(np.linalg.det(cov)) + maha)
    for kwargs in ({"covariance_matrix": t64(cov)}, {"precision_matrix": t64(np.linalg.inv(cov))},
                   {"scale_tril": t64(np.linalg.cholesky(cov))}):
        d = D.MultivariateNormal(t64(loc), **kwargs)
        np.testing.assert_allclose(to_np(d.log_prob(t64(x))), want, rtol=1e-10)
        np.testing.assert_allclose(to_np(d.covariance_matrix), cov, rtol=1e-10)
        np.testing.assert_allclose(to_np(d.precision_matrix), np.linalg.inv(cov), rtol=1e-9)
        np.testing.assert_allclose(to_np(d.variance), np.diag(cov), rtol=1e-10)
        np.testing.assert_allclose(to_np(d.entropy()),
                                   0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov)))
    batched = D.MultivariateNormal(t64(np.zeros((4, 3))), t64(cov))
    assert batched.batch_shape == torchlite.Size([4]) and batched.event_shape == torchlite.Size([3])
    assert tuple(batched.sample((2,)).shape) == (2, 4, 3)


def test_kl_divergences_match_closed_forms():
    n1, n2 = D.Normal(t64(0.5), t64(2.0)), D.Normal(t64(-1.0), t64(0.5))
    want = np.log(0.5 / 2.0) + (4.0 + 1.5 ** 2) / (2 * 0.25) - 0.5
    assert D.kl_divergence(n1, n2).item() == pytest.approx(want)
    p, q = np.array([0.2, 0.8]), np.array([0.5, 0.5])
    kl = D.kl_divergence(D.Categorical(t64(p)), D.Categorical(t64(q)))
    assert kl.item() == pytest.approx((p * np.log(p / q)).sum())
    assert D.kl_divergence(D.Categorical(t64([0.5, 0.5])), D.Categorical(t64([1.0, 0.0]))).item() \
        == math.inf
    assert D.kl_divergence(D.Categorical(t64([1.0, 0.0])), D.Categorical(t64([0.5, 0.5]))).item() \
        == pytest.approx(math.log(2))
    kb = D.kl_divergence(D.Bernoulli(t64(0.3)), D.Bernoulli(t64(0.6)))
    assert kb.item() == pytest.approx(0.3 * math.log(0.3 / 0.6) + 0.7 * math.log(0.7 / 0.4))
    assert D.kl_divergence(D.Uniform(t64(0.0), t64(1.0)), D.Uniform(t64(-1.0), t64(3.0))).item() \
        == pytest.approx(math.log(4))
    assert D.kl_divergence(D.Uniform(t64(0.0), t64(2.0)), D.Uniform(t64(0.0), t64(1.0))).item() \
        == math.inf
    assert D.kl_divergence(D.Exponential(t64(2.0)), D.Exponential(t64(0.5))).item() == \
        pytest.approx(math.log(4) + 0.25 - 1)
    assert D.kl_divergence(D.Poisson(t64(2.0)), D.Poisson(t64(3.0))).item() == \
        pytest.approx(2 * math.log(2 / 3) + 1)
    c1, c2 = np.diag([1.0, 2.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    m1, m2 = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    want = 0.5 * (np.trace(np.linalg.inv(c2) @ c1) + (m2 - m1) @ np.linalg.inv(c2) @ (m2 - m1)
                  - 2 + np.log(np.linalg.det(c2) / np.linalg.det(c1)))
    got = D.kl_divergence(D.MultivariateNormal(t64(m1), t64(c1)),
                          D.MultivariateNormal(t64(m2), t64(c2)))
    assert got.item() == pytest.approx(want)
    ind = D.kl_divergence(D.Independent(D.Normal(t64([0.0, 1.0]), t64([1.0, 1.0])), 1),
                          D.Independent(D.Normal(t64([0.0, 0.0]), t64([1.0, 1.0])), 1))
    assert ind.item() == pytest.approx(0.5)
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Laplace(0.0, 1.0))

    class MyNormal(D.Normal):
        pass

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 0.0

    @D.register_kl(MyNormal, MyNormal)
    def _kl(p, q):
        return torchlite.tensor(-1.0)

    assert D.kl_divergence(MyNormal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == -1.0


def test_gradients_of_log_prob_entropy_and_kl():
    x = t64([0.3, -1.2])
    check_grad(lambda m, s: D.Normal(m, s).log_prob(x), [0.0, 1.0], [1.0, 2.0])
    check_grad(lambda m, s: D.Laplace(m, s).log_prob(x), [0.1, 1.0], [1.0, 2.0])
    check_grad(lambda r: D.Exponential(r).log_prob(x.abs()), [0.5, 2.0])
    check_grad(lambda r: D.Poisson(r).log_prob(t64([1.0, 3.0])), [0.5, 2.0])
    check_grad(lambda lg: D.Categorical(logits=lg).log_prob(T([0, 2])),
               np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]]))
    check_grad(lambda lg: D.Categorical(logits=lg).entropy(), np.array([0.1, 0.2, 0.3]))
    check_grad(lambda lg: D.Bernoulli(logits=lg).log_prob(t64([1.0, 0.0])), [0.3, -0.7])
    check_grad(lambda p: D.Bernoulli(probs=p).entropy(), [0.3, 0.6])
    tril = np.array([[1.0, 0.0], [0.3, 0.8]])
    check_grad(lambda m, low: D.MultivariateNormal(m, scale_tril=low.tril()).log_prob(
        t64([0.2, 0.4])), [0.0, 1.0], tril)
    check_grad(lambda m1, s1: D.kl_divergence(D.Normal(m1, s1), D.Normal(t64(0.0), t64(1.0))),
               [0.5], [2.0])
    check_grad(lambda low: D.kl_divergence(D.MultivariateNormal(t64([0.0, 0.0]),
                                                                scale_tril=low.tril()),
                                           D.MultivariateNormal(t64([1.0, 0.0]),
                                                                covariance_matrix=t64(np.eye(2)))),
               tril)


def test_samples_have_the_right_statistics_and_gradients():
    torchlite.manual_seed(0)
    loc = T([1.0, -2.0], dtype=F64, requires_grad=True)
    scale = T([0.5, 3.0], dtype=F64, requires_grad=True)
    d = D.Normal(loc, scale)
    s = d.rsample((20000,))
    assert tuple(s.shape) == (20000, 2)
    np.testing.assert_allclose(to_np(s.mean(0)), [1.0, -2.0], atol=0.06)
    np.testing.assert_allclose(to_np(s.std(0)), [0.5, 3.0], rtol=0.03)
    s.mean().backward()  # d/d loc of a reparameterised draw's mean: 1/2 each
    np.testing.assert_allclose(to_np(loc.grad), [0.5, 0.5])
    assert not d.sample().requires_grad
    for dist, mean, var in ((D.Exponential(T([2.0])), 0.5, 0.25),
                            (D.Laplace(T([1.0]), T([2.0])), 1.0, 8.0),
                            (D.Uniform(T([-1.0]), T([3.0])), 1.0, 16 / 12),
                            (D.Poisson(T([4.0])), 4.0, 4.0),
                            (D.Bernoulli(T([0.3])), 0.3, 0.21)):
        x = to_np(dist.sample((40000,)))
        assert abs(x.mean() - mean) < 0.05 * max(1, abs(mean)), type(dist).__name__
        assert abs(x.var() - var) < 0.06 * var, type(dist).__name__
    counts = np.bincount(to_np(D.Categorical(T([0.2, 0.5, 0.3])).sample((30000,))).astype(int))
    np.testing.assert_allclose(counts / 30000, [0.2, 0.5, 0.3], atol=0.01)
    oh = D.OneHotCategorical(T([0.2, 0.8])).sample((5,))
    assert tuple(oh.shape) == (5, 2) and (to_np(oh).sum(-1) == 1).all()
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    mvn = to_np(D.MultivariateNormal(T([1.0, 0.0]), T(cov, dtype=torchlite.float32))
                .sample((40000,)))
    np.testing.assert_allclose(np.cov(mvn.T), cov, atol=0.05)
    torchlite.manual_seed(3)
    a = D.Normal(0.0, 1.0).sample((4,))
    torchlite.manual_seed(3)
    assert to_np(a).tolist() == to_np(D.Normal(0.0, 1.0).sample((4,))).tolist()


def test_shapes_expand_independent_and_enumerate():
    d = D.Normal(T([[0.0], [1.0]]), T([1.0, 2.0, 3.0]))  # parameters broadcast
    assert d.batch_shape == torchlite.Size([2, 3])
    assert tuple(d.sample((5, 4)).shape) == (5, 4, 2, 3)
    for family in (D.Normal, D.Laplace):  # expand keeps the family and its parameters
        e = family(T(0.5), T(2.0)).expand((3, 2))
        assert type(e) is family and e.batch_shape == torchlite.Size([3, 2])
        assert to_np(e.loc).tolist() == [[0.5] * 2] * 3 and to_np(e.scale).max() == 2.0
    ind = D.Independent(D.Normal(T(np.zeros((4, 3))), T(np.ones((4, 3)))), 1)
    assert ind.batch_shape == torchlite.Size([4]) and ind.event_shape == torchlite.Size([3])
    lp = ind.log_prob(T(np.zeros((4, 3))))
    np.testing.assert_allclose(to_np(lp), np.full(4, -1.5 * np.log(2 * np.pi)), rtol=1e-6)
    assert ind.has_rsample
    c = D.Categorical(logits=T(np.zeros((2, 3))))
    support = c.enumerate_support()
    assert tuple(support.shape) == (3, 2) and to_np(support[:, 0]).tolist() == [0, 1, 2]
    assert tuple(D.Bernoulli(T([0.5, 0.5])).enumerate_support().shape) == (2, 2)
    assert tuple(c.log_prob(c.enumerate_support()).shape) == (3, 2)


def test_validation_errors_match_pytorch():
    with pytest.raises(ValueError, match=r"Expected parameter scale \(Tensor of shape \(\)\) "
                                         r"of distribution Normal\(loc: 0.0, scale: -1.0\) to "
                                         r"satisfy the constraint GreaterThan\(lower_bound=0.0\)"):
        D.Normal(0.0, -1.0)
    D.Normal(0.0, -1.0, validate_args=False)  # no check when asked
    with pytest.raises(ValueError, match="within the support"):
        D.Normal(0.0, 1.0).log_prob(T(float("nan")))
    with pytest.raises(ValueError, match=r"support \(IntegerInterval"):
        D.Categorical(T([0.5, 0.5])).log_prob(T(2))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Bernoulli()
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Categorical(T([0.5, 0.5]), T([0.0, 0.0]))
    with pytest.raises(ValueError, match="probs"):
        D.Bernoulli(T([1.5]))
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
        D.MultivariateNormal(T([0.0, 0.0]))
    with pytest.raises(ValueError, match="PositiveDefinite"):
        D.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="be less than high"):
        D.Uniform(T(1.0), T(0.0))
    with pytest.raises(NotImplementedError, match="has no rsample"):
        D.Bernoulli(T([0.5])).rsample()


@pytest.mark.parity
def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    cov = rng.standard_normal((3, 3))
    cov = cov @ cov.T + np.eye(3)
    cases = [
        (lambda L, p: L.distributions.Normal(p[0], p[1]), [[0.0, 1.0], [1.0, 2.0]], [0.5, -0.5]),
        (lambda L, p: L.distributions.Laplace(p[0], p[1]), [[0.0, 1.0], [1.0, 2.0]], [0.5, -0.5]),
        (lambda L, p: L.distributions.Exponential(p[0]), [[0.5, 2.0]], [0.5, 1.5]),
        (lambda L, p: L.distributions.Uniform(p[0], p[1]), [[0.0, -1.0], [1.0, 2.0]], [0.5, 1.5]),
        (lambda L, p: L.distributions.Poisson(p[0]), [[0.5, 4.0]], [1.0, 3.0]),
        (lambda L, p: L.distributions.Bernoulli(logits=p[0]), [[0.5, -1.0]], [1.0, 0.0]),
        (lambda L, p: L.distributions.Bernoulli(probs=p[0]), [[0.2, 0.7]], [1.0, 0.0]),
        (lambda L, p: L.distributions.Categorical(logits=p[0]), [[[0.1, 0.5, -0.3]] * 2], [0, 2]),
        (lambda L, p: L.distributions.OneHotCategorical(probs=p[0]), [[[0.2, 0.5, 0.3]]],
         [[0.0, 1.0, 0.0]]),
        (lambda L, p: L.distributions.MultivariateNormal(p[0], covariance_matrix=p[1]),
         [[0.0, 1.0, -1.0], cov.tolist()], [0.3, 0.2, 0.1]),
        (lambda L, p: L.distributions.Independent(L.distributions.Normal(p[0], p[1]), 1),
         [[0.0, 1.0], [1.0, 2.0]], [0.5, -0.5]),
    ]
    for make, params, value in cases:
        results = []
        for lib in (torchlite, torch):
            ps = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
            d = make(lib, ps)
            v = lib.tensor(value, dtype=lib.int64 if isinstance(value[0], int) else lib.float64)
            out = {"log_prob": d.log_prob(v)}
            for name in ("entropy", "mean", "variance", "stddev", "cdf"):
                try:
                    got = getattr(d, name)
                    out[name] = got(v) if name == "cdf" else got() if callable(got) else got
                except NotImplementedError:
                    continue
            total = sum(o.sum() for o in out.values() if o.requires_grad)
            grads = lib.autograd.grad(total, ps, allow_unused=True) if not isinstance(total, int) \
                else [None] * len(ps)
            results.append(({k: o.detach().numpy() for k, o in out.items()},
                            [None if g is None else g.numpy() for g in grads],
                            tuple(d.batch_shape), tuple(d.event_shape)))
        mine, theirs = results
        assert mine[2:] == theirs[2:]
        assert set(mine[0]) == set(theirs[0]), (make, set(mine[0]) ^ set(theirs[0]))
        for k in mine[0]:
            np.testing.assert_allclose(mine[0][k], theirs[0][k], rtol=1e-10, err_msg=k)
        for g1, g2 in zip(mine[1], theirs[1]):
            if g1 is None or g2 is None:
                assert g1 is None and g2 is None or not np.any(g1 if g2 is None else g2)
            else:
                np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-12)
    pairs = [("Normal", ([0.5], [2.0]), ([-1.0], [0.5])),
             ("Laplace", ([0.5], [2.0]), ([0.0], [1.0])),
             ("Exponential", ([2.0],), ([0.5],)), ("Poisson", ([2.0],), ([3.0],)),
             ("Bernoulli", ([0.3],), ([0.6],)),
             ("Categorical", ([[0.2, 0.8]],), ([[0.5, 0.5]],)),
             ("Uniform", ([0.0], [1.0]), ([-1.0], [3.0]))]
    for name, a, b in pairs:
        vals = []
        for lib in (torchlite, torch):
            cls = getattr(lib.distributions, name)
            p = cls(*[lib.tensor(x, dtype=lib.float64) for x in a])
            q = cls(*[lib.tensor(x, dtype=lib.float64) for x in b])
            vals.append(lib.distributions.kl_divergence(p, q).numpy())
        np.testing.assert_allclose(vals[0], vals[1], rtol=1e-10, err_msg=name)


def test_cdf_checks_the_support():
    for dist, bad in ((D.Exponential(T([1.0])), T([-1.0])), (D.Uniform(T([0.0]), T([1.0])),
                                                          T([2.0]))):
        with pytest.raises(ValueError, match="within the support"):
            dist.cdf(bad)
