"""The in-place method forms (x.cos_(), x.eq_(y), x.gcd_(y), ...) equal their out-of-place ops,
write into the tensor's memory and record the graph as PyTorch's do."""

import numpy as np
import pytest

import torchlite

FLOAT_UNARY = ["acos", "asin", "atan", "arccos", "arcsin", "arctan", "cos", "sin", "tan", "cosh",
               "sinh", "erf", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal",
               "square", "frac", "trunc", "fix", "sign", "sgn", "negative", "absolute", "asinh",
               "atanh", "deg2rad", "rad2deg", "erfc", "erfinv", "lgamma", "digamma", "sinc",
               "logit"]
BINARY = ["atan2", "arctan2", "fmod", "remainder", "float_power", "true_divide", "divide",
          "multiply", "subtract", "logaddexp", "logaddexp2", "nextafter", "heaviside", "ldexp",
          "copysign", "hypot", "xlogy", "eq", "ne", "not_equal", "lt", "less", "le",
          "less_equal", "gt", "greater", "ge", "greater_equal"]


def _x():
    return torchlite.tensor([0.2, 0.5, 0.7], dtype=torchlite.float64)


@pytest.mark.parametrize("name", FLOAT_UNARY)
def test_unary_inplace_forms(name):
    x = _x()
    expected = getattr(x, name)()
    memory = x.data_ptr() if hasattr(x, "data_ptr") else None
    assert getattr(x, name + "_")() is x
    np.testing.assert_allclose(x.numpy(), expected.numpy())
    if memory is not None:
        assert x.data_ptr() == memory


@pytest.mark.parametrize("name", BINARY)
def test_binary_inplace_forms(name):
    x, y = _x(), torchlite.tensor([0.5, 0.5, 0.25], dtype=torchlite.float64)
    expected = getattr(x, name)(y)
    getattr(x, name + "_")(y)
    np.testing.assert_allclose(x.numpy(), expected.numpy().astype(np.float64))
    assert x.dtype == torchlite.float64


def test_integer_logical_and_special_forms():
    i = torchlite.tensor([12, 18])
    i.gcd_(torchlite.tensor([8, 12]))
    assert i.tolist() == [4, 6]
    i.lcm_(torchlite.tensor([3, 4]))
    assert i.tolist() == [12, 12]
    b = torchlite.tensor([True, False])
    b.logical_and_(torchlite.tensor([True, True]))
    assert b.tolist() == [True, False]
    x = _x()
    x.polygamma_(1)
    np.testing.assert_allclose(x.numpy(), torchlite.polygamma(1, _x()).numpy())
    x = _x() + 2
    x.mvlgamma_(2)
    np.testing.assert_allclose(x.numpy(), torchlite.mvlgamma(_x() + 2, 2).numpy())
    x = _x()
    x.clamp_min_(0.4).clamp_max_(0.6)
    assert x.tolist() == [0.4, 0.5, 0.6]


def test_inplace_form_records_the_graph():
    a = torchlite.tensor([0.2, 0.5], dtype=torchlite.float64, requires_grad=True)
    x = a * 1
    x.sin_()
    x.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.cos([0.2, 0.5]))
