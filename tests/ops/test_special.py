"""Special functions: forward vs the C library and PyTorch, float64 gradchecks, dtypes, edges."""

import math

import numpy as np
import pytest
from _core_checks import check_grad, data, leaf, to_np

import torchlite

_lgamma = np.vectorize(math.lgamma)
_erfc = np.vectorize(math.erfc)
_erf = np.vectorize(math.erf)


def _digamma_ref(x):
    # the derivative of the C library's lgamma by a centred difference (tolerance 1e-6)
    h = 1e-5
    return (_lgamma(x + h) - _lgamma(x - h)) / (2 * h)


REFS = {
    "lgamma": (_lgamma, (-4.5, 6), 1e-6),
    "erfc": (_erfc, (-3, 5), 1e-6),
    "digamma": (_digamma_ref, (0.2, 6), 1e-5),
    "erfinv": (lambda y: None, (-0.95, 0.95), 1e-6),
    "sinc": (lambda x: np.sin(np.pi * x) / (np.pi * x), (-3, 3), 1e-6),
    "logit": (lambda p: np.log(p / (1 - p)), (0.05, 0.95), 1e-6),
}


def _values(name, dtype=np.float64):
    lo, hi = REFS[name][1]
    a = data((4, 5), 1, lo, hi)
    if name == "lgamma":  # away from the poles
        a = np.where(np.abs(a - np.round(a)) < 0.1, a + 0.25, a)
    return a.astype(dtype)


@pytest.mark.parametrize("name", ["lgamma", "erfc", "digamma", "sinc", "logit"])
def test_forward_matches_reference(name):
    ref, _, tol = REFS[name]
    a = _values(name)
    np.testing.assert_allclose(to_np(getattr(torchlite, name)(torchlite.tensor(a))), ref(a),
                               rtol=tol, atol=tol)
    out32 = getattr(torchlite, name)(torchlite.tensor(a, dtype=torchlite.float32))
    assert out32.dtype == torchlite.float32
    np.testing.assert_allclose(to_np(out32), ref(a), rtol=2e-5, atol=2e-5)


def test_erfinv_inverts_erf():
    y = _values("erfinv")
    x = to_np(torchlite.erfinv(torchlite.tensor(y)))
    np.testing.assert_allclose(_erf(x), y, rtol=1e-14, atol=1e-15)
    # near +-1 the tail keeps its digits
    t = 1 - np.array([1e-3, 1e-8, 1e-12, 1e-15])
    np.testing.assert_allclose(_erfc(to_np(torchlite.erfinv(torchlite.tensor(t)))), 1 - t,
                               rtol=1e-8)
    edge = to_np(torchlite.erfinv(torchlite.tensor([1.0, -1.0, 1.5, 0.0])))
    assert edge[0] == np.inf and edge[1] == -np.inf and np.isnan(edge[2]) and edge[3] == 0


def test_polygamma_is_the_derivative_of_digamma():
    x = data((6,), 2, 0.3, 8)
    h = 1e-5
    for n in (1, 2, 3):
        lower = to_np(torchlite.polygamma(n - 1, torchlite.tensor(x - h)))
        upper = to_np(torchlite.polygamma(n - 1, torchlite.tensor(x + h)))
        np.testing.assert_allclose(to_np(torchlite.polygamma(n, torchlite.tensor(x))),
                                   (upper - lower) / (2 * h), rtol=1e-5)
    # trigamma(1) = pi**2 / 6
    one = torchlite.tensor([1.0], dtype=torchlite.float64)
    assert abs(torchlite.polygamma(1, one).item() - math.pi**2 / 6) < 1e-12
    with pytest.raises(RuntimeError, match="negative"):
        torchlite.polygamma(-1, torchlite.tensor([1.0]))


def test_poles_and_special_values_as_pytorch():
    lg = to_np(torchlite.lgamma(torchlite.tensor([0.0, -1.0, -2.0, 1.0, 2.0, np.inf])))
    assert np.all(lg[[0, 1, 2, 5]] == np.inf) and np.all(lg[[3, 4]] == 0)
    dg = to_np(torchlite.digamma(torchlite.tensor([0.0, -0.0, -1.0, np.inf])))
    assert dg[0] == -np.inf and dg[1] == np.inf and np.isnan(dg[2]) and dg[3] == np.inf
    assert torchlite.sinc(torchlite.tensor([0.0])).item() == 1.0
    assert to_np(torchlite.erfc(torchlite.tensor([np.inf, -np.inf]))).tolist() == [0.0, 2.0]


@pytest.mark.parametrize("name", ["lgamma", "erfc", "digamma", "erfinv", "sinc", "logit"])
def test_gradcheck(name):
    check_grad(getattr(torchlite, name), _values(name))


def test_gradcheck_polygamma_logit_eps_and_sinc_at_zero():
    x = data((5,), 3, 0.5, 4)
    for n in (0, 1, 2):
        check_grad(lambda t, n=n: torchlite.polygamma(n, t), x)
    p = np.array([0.02, 0.3, 0.5, 0.7, 0.98])
    check_grad(lambda t: torchlite.logit(t, eps=0.05), p)
    t = leaf(np.array([0.0, 1.5]))
    torchlite.sinc(t).sum().backward()
    assert t.grad[0].item() == 0.0


@pytest.mark.parametrize("name", ["lgamma", "erfc", "digamma", "erfinv", "sinc", "logit"])
def test_integer_input_gives_default_float(name):
    out = getattr(torchlite, name)(torchlite.tensor([1, 2]))
    assert out.dtype == torchlite.float32


def test_methods_and_inplace():
    t = torchlite.tensor([0.5, 1.5])
    assert torchlite.equal(t.lgamma(), torchlite.lgamma(t))
    assert torchlite.equal(t.polygamma(1), torchlite.polygamma(1, t))
    u = t.clone()
    u.digamma_()
    assert torchlite.equal(u, torchlite.digamma(t))


def test_no_scipy_at_import():
    import subprocess
    import sys

    code = ("import sys, torchlite; torchlite.lgamma(torchlite.ones(2)); "
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parity
@pytest.mark.parametrize("name", ["lgamma", "erfc", "digamma", "erfinv", "sinc", "logit",
                                  "asinh", "acosh", "atanh", "deg2rad", "rad2deg", "expm1",
                                  "log2", "log10", "erf", "frac", "trunc"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_parity_with_pytorch(name, dtype):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    a = np.concatenate([r.uniform(-6, 6, 200), [0.0, -0.0, 1, 2, -1, -2, 0.5, -0.5, 1e-8, 30]])
    if name in ("erfinv", "atanh"):
        a = np.concatenate([r.uniform(-1, 1, 200), [0.0, 1.0, -1.0, 0.999999]])
    if name == "logit":
        a = np.concatenate([r.uniform(0, 1, 200), [0.0, 1.0]])
    if name == "acosh":
        a = np.concatenate([r.uniform(1, 8, 200), [1.0]])
    if dtype == "int64":
        a = np.round(a * 3)
    a = a.astype(dtype)
    try:
        expected = getattr(torch, name)(torch.tensor(a))
    except (NotImplementedError, RuntimeError):
        with pytest.raises(RuntimeError):
            getattr(torchlite, name)(torchlite.tensor(a))
        return
    got = getattr(torchlite, name)(torchlite.tensor(a))
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    tol = 1e-10 if dtype == "float64" else 2e-6
    if name == "digamma":
        tol = max(tol, 1e-5)  # PyTorch's float32 digamma is a few ulps off near its zero
    np.testing.assert_allclose(to_np(got), expected.numpy(), rtol=tol, atol=tol)


@pytest.mark.parity
def test_parity_polygamma_and_grads_with_pytorch():
    torch = pytest.importorskip("torch")
    x = data((50,), 4, 0.05, 12)
    for n in (1, 2, 4):
        np.testing.assert_allclose(to_np(torchlite.polygamma(n, torchlite.tensor(x))),
                                   torch.polygamma(n, torch.tensor(x)).numpy(), rtol=1e-8)
    for name in ("lgamma", "digamma", "erfinv", "erfc", "sinc"):
        a = _values(name).ravel() if name != "lgamma" else _values(name).ravel()
        t = leaf(a)
        getattr(torchlite, name)(t).sum().backward()
        ta = torch.tensor(a, requires_grad=True)
        getattr(torch, name)(ta).sum().backward()
        np.testing.assert_allclose(to_np(t.grad), ta.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_mvlgamma_is_a_sum_of_lgammas():
    x = data((5,), 6, 2.0, 6.0)
    got = to_np(torchlite.mvlgamma(torchlite.tensor(x), 3))
    np.testing.assert_allclose(got, _lgamma(x) + _lgamma(x - 0.5) + _lgamma(x - 1)
                               + 1.5 * math.log(math.pi), rtol=1e-12)
    check_grad(lambda t: torchlite.mvlgamma(t, 2), x)
    with pytest.raises(RuntimeError, match="p has to be"):
        torchlite.mvlgamma(torchlite.tensor(x), 0)


@pytest.mark.parametrize("name", ["lgamma", "erfc", "digamma", "erfinv", "sinc", "logit",
                                  "asinh", "atanh", "deg2rad", "rad2deg"])
def test_gradgradcheck(name):
    a = _values(name) if name in REFS else data((4,), 7, -0.8, 0.8)
    assert torchlite.autograd.gradgradcheck(getattr(torchlite, name), [leaf(a[:2])])


def test_gradgradcheck_polygamma_mvlgamma_acosh():
    x = leaf(data((3,), 8, 0.5, 3))
    assert torchlite.autograd.gradgradcheck(lambda t: torchlite.polygamma(1, t), [x])
    assert torchlite.autograd.gradgradcheck(lambda t: torchlite.mvlgamma(t + 2, 2), [x])
    assert torchlite.autograd.gradgradcheck(lambda t: torchlite.acosh(t + 1), [x])


def test_erf_erfc_erfinv_of_0d_tensors():
    for dtype in (torchlite.float32, torchlite.float64):
        x = torchlite.tensor(0.5, dtype=dtype)
        assert torchlite.erfinv(x).ndim == 0
        assert torchlite.erfinv(x).item() == pytest.approx(0.4769362762, rel=1e-6)
        assert torchlite.erfc(x).item() == pytest.approx(0.4795001222, rel=1e-6)
        assert torchlite.erf(x).item() == pytest.approx(0.5204998778, rel=1e-6)
