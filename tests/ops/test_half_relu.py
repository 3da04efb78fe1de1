"""ops/half_relu.py: relu on float16/bfloat16 bits gives NumPy's (and ml_dtypes') bits for all
65,536 values, forward and backward, and torchlite.relu uses it."""

import numpy as np
import pytest

import torchlite
from torchlite.ops import half_relu, unary

U16 = np.arange(1 << 16, dtype=np.uint16)


def _dtypes():
    out = [np.dtype(np.float16)]
    try:
        import ml_dtypes
    except ImportError:
        return out
    return out + [np.dtype(ml_dtypes.bfloat16)]


@pytest.fixture(params=_dtypes(), ids=lambda d: d.name)
def dt(request):
    return request.param


def test_forward_every_value(dt):
    x = U16.view(dt)
    assert np.array_equal(half_relu.relu_bits(x).view(np.uint16), np.maximum(x, 0).view(np.uint16))


def test_backward_every_output_and_gradient(dt):
    # every output pattern against a spread of finite gradients, and every finite gradient
    # against a positive, a zero, a negative-zero and a NaN output
    exp = 0x7C00 if dt.char == "e" else 0x7F80
    finite = U16[(U16 & exp) != exp]
    rng = np.random.default_rng(0)
    g = rng.choice(finite, U16.size).view(dt)
    out = U16.view(dt)
    with np.errstate(invalid="ignore"):
        ref = g * (out > 0)
    assert np.array_equal(half_relu.relu_grad_bits(g, out).view(np.uint16), ref.view(np.uint16))
    for o in (0x3C00, 0x0000, 0x8000, exp | 1):
        outs = np.full(finite.size, o, np.uint16).view(dt)
        gs = finite.view(dt)
        ref = gs * (outs > 0)
        got = half_relu.relu_grad_bits(gs, outs)
        assert np.array_equal(got.view(np.uint16), ref.view(np.uint16))


def test_backward_declines_inf_and_nan(dt):
    g = np.array([1.0, np.inf], np.float32).astype(dt)
    assert half_relu.relu_grad_bits(g, np.zeros(2, dt)) is None


@pytest.mark.parametrize("shape", [(5, 7), (3, 0), ()])
def test_relu_tensor_matches_the_float_formula(dt, shape):
    name = "float16" if dt.char == "e" else "bfloat16"
    rng = np.random.default_rng(1)
    base = rng.standard_normal(shape).astype(np.float32)
    if base.size:
        base.flat[0], base.flat[-1] = -0.0, np.nan
    x = torchlite.tensor(base).to(getattr(torchlite, name)).requires_grad_()
    y = torchlite.relu(x)
    g = rng.standard_normal(shape).astype(np.float32)
    if base.size > 2:
        g.flat[1] = np.inf  # takes the original arithmetic
    gt = torchlite.tensor(g).to(x.dtype)
    y.backward(gt)
    xd, gd = x.detach()._data, gt._data
    assert y.dtype == x.dtype and y.grad_fn.name() == "ReluBackward0"
    assert np.array_equal(np.asarray(y._data).view(np.uint16),
                          np.asarray(np.maximum(xd, 0)).view(np.uint16))
    with np.errstate(invalid="ignore"):
        ref = np.asarray(gd * (np.maximum(xd, 0) > 0))
    assert np.array_equal(np.asarray(x.grad._data).view(np.uint16), ref.view(np.uint16))


def test_float32_keeps_the_plain_op():
    y = torchlite.relu(torchlite.randn(3, requires_grad=True))
    assert y.grad_fn.fn is unary.Relu


def test_backward_bits_strided_odd_and_empty(dt):
    rng = np.random.default_rng(2)
    base = rng.standard_normal((7, 13)).astype(np.float32)
    base[0, :4] = -0.0, 0.0, np.nan, -1.0
    g = rng.standard_normal((13, 7)).astype(np.float32).astype(dt).T[:, ::2]
    out = np.maximum(base.astype(dt), 0)[:, ::2]
    with np.errstate(invalid="ignore"):
        ref = g * (out > 0)
    assert np.array_equal(half_relu.relu_grad_bits(g, out).view(np.uint16), ref.view(np.uint16))
    empty = np.zeros((3, 0), dt)
    assert half_relu.relu_grad_bits(empty, empty).shape == (3, 0)
