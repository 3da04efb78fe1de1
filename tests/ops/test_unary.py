"""Unary math: forward vs NumPy (float32), float64 gradchecks, integer inputs, rounding ops."""

import math

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, leaf, noncontig_leaf, to_np

import torchlite

_erf = np.vectorize(math.erf)

# name -> (NumPy reference, (low, high) of the test values)
UNARY = {
    "abs": (np.abs, (-2, 2)),
    "exp": (np.exp, (-2, 2)),
    "exp2": (np.exp2, (-2, 2)),
    "expm1": (np.expm1, (-2, 2)),
    "log": (np.log, (0.3, 3)),
    "log2": (np.log2, (0.3, 3)),
    "log10": (np.log10, (0.3, 3)),
    "log1p": (np.log1p, (-0.5, 2)),
    "sqrt": (np.sqrt, (0.3, 3)),
    "rsqrt": (lambda x: 1 / np.sqrt(x), (0.3, 3)),
    "sin": (np.sin, (-3, 3)),
    "cos": (np.cos, (-3, 3)),
    "tan": (np.tan, (-1.2, 1.2)),
    "asin": (np.arcsin, (-0.9, 0.9)),
    "acos": (np.arccos, (-0.9, 0.9)),
    "atan": (np.arctan, (-3, 3)),
    "sinh": (np.sinh, (-2, 2)),
    "cosh": (np.cosh, (-2, 2)),
    "tanh": (np.tanh, (-3, 3)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), (-5, 5)),
    "relu": (lambda x: np.maximum(x, 0), (-2, 2)),
    "reciprocal": (lambda x: 1 / x, (0.3, 3)),
    "erf": (_erf, (-2.5, 2.5)),
    "square": (np.square, (-2, 2)),
    "neg": (np.negative, (-2, 2)),
    "frac": (lambda x: x - np.trunc(x), (-2.9, 2.9)),
}


def _values(name, shape=(3, 4), seed=0):
    lo, hi = UNARY[name][1]
    a = data(shape, seed, lo, hi)
    if name in ("abs", "relu", "frac"):  # stay away from the kinks
        a = np.where(np.abs(a - np.round(a)) < 0.05, a + 0.1, a)
    return a


@pytest.mark.parametrize("name", sorted(UNARY))
def test_forward_matches_numpy(name, device):
    fn = getattr(torchlite, name)
    check_forward(fn, UNARY[name][0], _values(name), device=device, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_method_matches_function(name):
    t = torchlite.tensor(_values(name), dtype=torchlite.float32)
    np.testing.assert_array_equal(to_np(getattr(t, name)()), to_np(getattr(torchlite, name)(t)))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_gradcheck(name):
    check_grad(getattr(torchlite, name), _values(name, (2, 3)))


@pytest.mark.parametrize("kind", ["T", "step"])
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "abs"])
def test_gradcheck_noncontiguous(name, kind):
    a = _values(name, (3, 4), seed=2)
    x = noncontig_leaf(a, kind)
    check_grad(getattr(torchlite, name), x)
    np.testing.assert_allclose(to_np(getattr(torchlite, name)(x)), UNARY[name][0](a), rtol=1e-12)


@pytest.mark.parametrize("name", ["exp", "sqrt", "tanh", "sigmoid", "log"])
def test_gradcheck_through_views(name):
    a = _values(name, (4, 6), seed=4)
    check_grad(lambda x: getattr(torchlite, name)(x.t()[::2]) * 2.0, a)


def test_relu_and_abs_have_zero_gradient_at_zero():
    x = leaf([-1.0, 0.0, 2.0])
    torchlite.relu(x).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [0.0, 0.0, 1.0])
    x.grad = None
    torchlite.abs(x).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [-1.0, 0.0, 1.0])


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = torchlite.sigmoid(torchlite.tensor([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(to_np(out), [0.0, 0.5, 1.0])


def test_integer_inputs():
    i = torchlite.tensor([1, -2, 4])
    for name in ("exp", "sqrt", "sin", "sigmoid", "log1p", "tanh"):
        assert getattr(torchlite, name)(i.abs()).dtype == torchlite.float32, name
    assert torchlite.abs(i).dtype == torchlite.int64
    np.testing.assert_array_equal(to_np(abs(i)), [1, 2, 4])
    assert (-i).dtype == torchlite.int64
    assert torchlite.relu(i).dtype == torchlite.int64
    assert torchlite.square(i).dtype == torchlite.int64
    np.testing.assert_array_equal(to_np(torchlite.relu(i)), [1, 0, 4])
    np.testing.assert_allclose(to_np(torchlite.sqrt(i.abs())), np.sqrt([1.0, 2.0, 4.0]),
                               rtol=1e-6)


def test_rounding_ops_values_and_dtypes():
    x = torchlite.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.7])
    np.testing.assert_array_equal(to_np(torchlite.round(x)), [-2, -2, -0, 0, 2, 2, 3])
    np.testing.assert_array_equal(to_np(torchlite.floor(x)), np.floor(to_np(x)))
    np.testing.assert_array_equal(to_np(torchlite.ceil(x)), np.ceil(to_np(x)))
    np.testing.assert_array_equal(to_np(torchlite.trunc(x)), np.trunc(to_np(x)))
    np.testing.assert_array_equal(to_np(torchlite.sign(x)), np.sign(to_np(x)))
    np.testing.assert_allclose(to_np(torchlite.round(torchlite.tensor([1.2345]), decimals=2)),
                               [1.23], rtol=1e-6)
    for fn in (torchlite.round, torchlite.floor, torchlite.ceil, torchlite.trunc, torchlite.sign):
        assert fn(x).dtype == torchlite.float32
        assert fn(torchlite.tensor([1, -2])).dtype == torchlite.int64


def test_rounding_ops_have_zero_gradient():
    # PyTorch keeps them in the graph (FloorBackward0, ...) with a zero derivative
    x = leaf([0.5, 1.5, -2.7], dtype=torchlite.float32)
    for fn in (torchlite.round, torchlite.floor, torchlite.ceil, torchlite.trunc, torchlite.sign):
        out = fn(x)
        assert out.requires_grad and out.dtype == torchlite.float32
        (g,) = torchlite.autograd.grad(out.sum(), x)
        np.testing.assert_array_equal(to_np(g), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(to_np(torchlite.round(x)), [0.0, 2.0, -3.0])  # half to even
    (g,) = torchlite.autograd.grad(torchlite.frac(x).sum(), x)
    np.testing.assert_array_equal(to_np(g), [1.0, 1.0, 1.0])


def test_logical_and_bitwise():
    a = torchlite.tensor([True, False, True])
    b = torchlite.tensor([True, True, False])
    np.testing.assert_array_equal(to_np(torchlite.logical_and(a, b)), [True, False, False])
    np.testing.assert_array_equal(to_np(torchlite.logical_or(a, b)), [True, True, True])
    np.testing.assert_array_equal(to_np(torchlite.logical_xor(a, b)), [False, True, True])
    np.testing.assert_array_equal(to_np(~a), [False, True, False])
    np.testing.assert_array_equal(to_np(a & b), [True, False, False])
    np.testing.assert_array_equal(to_np(a | b), [True, True, True])
    i = torchlite.tensor([1, 2, 3])
    np.testing.assert_array_equal(to_np(~i), [-2, -3, -4])
    np.testing.assert_array_equal(to_np(i & 1), [1, 0, 1])
    np.testing.assert_array_equal(to_np(torchlite.logical_not(i)), [False, False, False])


def test_bad_inputs():
    with pytest.raises(RuntimeError, match="Negation"):
        -torchlite.tensor([True])
    with pytest.raises(TypeError, match="bitwise_not"):
        torchlite.bitwise_not(torchlite.ones(2))
    with pytest.raises(TypeError, match="exp"):
        torchlite.exp([1.0, 2.0])


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_relu_of_infinities_and_nan(device):
    x = torchlite.tensor([-np.inf, np.inf, np.nan, -1.0, 2.0], device=device,
                         requires_grad=True)
    y = torchlite.relu(x)
    np.testing.assert_array_equal(to_np(y), [0.0, np.inf, np.nan, 0.0, 2.0])  # as PyTorch
    y.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [0.0, 1.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_relu_of_large_arrays_compares_with_a_shared_zero_buffer(dtype):
    """From 4,096 elements relu compares with views of one read-only zero buffer per dtype
    (NumPy's maximum against a scalar is slower): same values, the buffer never written, and
    an output that shares no memory with it, also after the buffer grows."""
    from torchlite.ops import unary

    rng = np.random.default_rng(3)
    for n in (unary._ZEROS_MIN, 3 * unary._ZEROS_MIN + 5, 20_000):
        x = (rng.standard_normal(n) * 5).astype(dtype)
        if x.dtype.kind == "f":
            x[:4] = [np.nan, -np.inf, np.inf, -0.0]
        y = torchlite.relu(torchlite.from_numpy(x.reshape(-1, 1)))
        want = np.where(np.isnan(x), np.nan, np.where(x > 0, x, 0)).astype(dtype)
        np.testing.assert_array_equal(to_np(y).reshape(-1), want)
        zeros = unary._zeros[np.dtype(dtype)]
        assert not zeros.flags.writeable and not zeros.any()
        assert not np.shares_memory(to_np(y), zeros)
    # relu_ writes into its input, never into the zero buffer
    x = torchlite.from_numpy(-np.ones(8192, dtype))
    x.relu_()
    assert not to_np(x).any() and not unary._zeros[np.dtype(dtype)].any()


def test_nan_to_num_values_dtypes_and_gradient(device):
    vals = [np.nan, np.inf, -np.inf, 1.5, -2.0]
    x = torchlite.tensor(vals, device=device)
    f32 = np.finfo(np.float32)
    np.testing.assert_array_equal(to_np(torchlite.nan_to_num(x)), [0, f32.max, f32.min, 1.5, -2])
    np.testing.assert_array_equal(to_np(x.nan_to_num(nan=-1.0, posinf=9.0, neginf=-9.0)),
                                  [-1, 9, -9, 1.5, -2])
    h = torchlite.tensor(vals, dtype=torchlite.float16, device=device).nan_to_num()
    assert h.dtype == torchlite.float16 and to_np(h)[1] == np.finfo(np.float16).max
    i = torchlite.tensor([1, 2])
    assert torchlite.nan_to_num(i).dtype == torchlite.int64 and torchlite.nan_to_num(i) is not i
    y = torchlite.tensor([np.nan, 1.0, -np.inf])
    assert y.nan_to_num_() is y and y.tolist() == [0.0, 1.0, float(f32.min)]
    g = leaf([np.nan, 0.5, np.inf, -1.0])
    (torchlite.nan_to_num(g) * 0.5).sum().backward()
    np.testing.assert_array_equal(to_np(g.grad), [0.0, 0.5, 0.0, 0.5])  # 0 where replaced
    check_grad(lambda t: torchlite.nan_to_num(t, posinf=1.0) * 2.0, data((2, 3), 9))


@pytest.mark.parity
def test_nan_to_num_parity():
    torch = pytest.importorskip("torch")
    vals = [float("nan"), float("inf"), -float("inf"), 0.5]
    res = []
    for m in (torchlite, torch):
        x = m.tensor(vals, requires_grad=True)
        y = m.nan_to_num(x, 0.5, neginf=-3.0)
        (y * m.tensor([0.25, 0.5, 0.75, 1.0])).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])


@pytest.mark.parity
@pytest.mark.parametrize("name", ["relu", "abs", "sqrt", "sigmoid", "tanh", "log", "erf",
                                  "rsqrt", "exp"])
def test_parity_with_torch(name):
    torch = pytest.importorskip("torch")
    vals = [-20.0, -1.0, 0.0, 0.25, 1.0, 30.0]
    if name in ("sqrt", "log", "rsqrt"):
        vals = [0.0, 0.25, 1.0, 30.0]
    res = []
    for m in (torchlite, torch):
        x = m.tensor(vals, requires_grad=True)
        y = getattr(m, name)(x)
        y.sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5, atol=1e-6)
