import math

import numpy as np
import pytest
from _nn_checks import npy

import torchlite
from torchlite.nn import init


def test_fans_follow_pytorch():
    assert init._calculate_fan_in_and_fan_out(torchlite.empty(7, 5)) == (5, 7)
    assert init._calculate_fan_in_and_fan_out(torchlite.empty(8, 3, 3, 2)) == (18, 48)
    assert init._calculate_correct_fan(torchlite.empty(8, 3, 3), "fan_out") == 24
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(torchlite.empty(4))
    with pytest.raises(ValueError, match="not supported"):
        init.kaiming_uniform_(torchlite.empty(3, 3), mode="fan_avg")


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def _stats(fn, shape=(300, 400), **kw):
    t = torchlite.empty(*shape)
    out = fn(t, **kw)
    assert out is t and t.dtype == torchlite.float32
    return npy(t)


def test_distributions_have_the_right_moments():
    torchlite.manual_seed(0)
    u = _stats(init.uniform_, a=-2.0, b=4.0)
    assert u.min() >= -2 and u.max() <= 4 and abs(u.mean() - 1) < 0.02
    n = _stats(init.normal_, mean=1.0, std=3.0)
    assert abs(n.mean() - 1) < 0.05 and abs(n.std() - 3) < 0.05
    bound = math.sqrt(6 / 700)
    xu = _stats(init.xavier_uniform_)
    assert np.abs(xu).max() <= bound and abs(xu.std() - bound / math.sqrt(3)) < 1e-3
    xn = _stats(init.xavier_normal_, gain=2.0)
    assert abs(xn.std() - 2 * math.sqrt(2 / 700)) < 1e-3
    ku = _stats(init.kaiming_uniform_, nonlinearity="relu")
    kb = math.sqrt(2) * math.sqrt(3 / 400)
    assert np.abs(ku).max() <= kb and abs(ku.std() - kb / math.sqrt(3)) < 1e-3
    kn = _stats(init.kaiming_normal_, mode="fan_out", nonlinearity="relu")
    assert abs(kn.std() - math.sqrt(2 / 300)) < 1e-3
    tn = _stats(init.trunc_normal_, std=1.0, a=-1.0, b=0.5)
    assert tn.min() >= -1.0 and tn.max() <= 0.5
    # mean of N(0,1) truncated to [-1, 0.5]: (phi(-1) - phi(0.5)) / (Phi(0.5) - Phi(-1))
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    assert abs(tn.mean() - (phi(-1) - phi(0.5)) / (cdf(0.5) - cdf(-1))) < 0.01


def test_constant_eye_dirac_orthogonal():
    t = torchlite.empty(2, 3)
    assert npy(init.constant_(t, 0.5)).tolist() == [[0.5] * 3] * 2
    assert not npy(init.zeros_(t)).any() and (npy(init.ones_(t)) == 1).all()
    assert npy(init.eye_(torchlite.empty(2, 3))).tolist() == [[1, 0, 0], [0, 1, 0]]
    with pytest.raises(ValueError):
        init.eye_(torchlite.empty(2, 2, 2))
    d = npy(init.dirac_(torchlite.empty(4, 2, 3, 3)))
    assert d.sum() == 2 and d[0, 0, 1, 1] == 1 and d[1, 1, 1, 1] == 1
    for shape in ((5, 3), (3, 5), (4, 2, 2)):
        q = npy(init.orthogonal_(torchlite.empty(*shape), gain=2.0)).reshape(shape[0], -1)
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, 4 * np.eye(min(q.shape)), atol=1e-5)
    s = npy(init.sparse_(torchlite.empty(10, 4), sparsity=0.3))
    assert ((s == 0).sum(0) >= 3).all()


def test_generator_and_dtype_and_in_place():
    a = torchlite.empty(3, 4, dtype=torchlite.float64)
    data = a._data
    init.kaiming_uniform_(a, a=math.sqrt(5), generator=torchlite.Generator().manual_seed(1))
    b = torchlite.empty(3, 4, dtype=torchlite.float64)
    init.kaiming_uniform_(b, a=math.sqrt(5), generator=torchlite.Generator().manual_seed(1))
    assert a._data is data and a.dtype == torchlite.float64
    np.testing.assert_array_equal(npy(a), npy(b))
    p = torchlite.nn.Parameter(torchlite.empty(2, 2))
    init.normal_(p)  # parameters are filled without recording a graph
    assert p.grad_fn is None and p.requires_grad
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(torchlite.empty(0, 3))


def test_the_older_names_warn_and_do_the_same():
    import warnings

    for old in ("uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                "kaiming_normal", "orthogonal"):
        a, b = torchlite.empty(4, 3), torchlite.empty(4, 3)
        torchlite.manual_seed(0)
        getattr(torchlite.nn.init, old + "_")(a)
        torchlite.manual_seed(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(torchlite.nn.init, old)(b)
        assert f"`nn.init.{old}` is now deprecated" in str(caught[0].message)
        assert caught[0].category is FutureWarning
        assert a.tolist() == b.tolist(), old
