"""torchlite.autograd.gradcheck: accepts correct backward passes, catches wrong ones."""

import numpy as np
import pytest
from _core_checks import data, leaf

import torchlite
from torchlite.autograd import Function, gradcheck
from torchlite.autograd.gradcheck import GradcheckError


class GoodSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class WrongSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2.1 * x * g  # off by 5%


class WrongSecondInput(Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g  # d/dy should be g * x


def test_accepts_correct_gradients():
    assert gradcheck(GoodSquare.apply, [leaf(data((3, 2)))])
    assert gradcheck(lambda a, b: (a @ b).tanh(), (leaf(data((2, 3))), leaf(data((3, 2), 1))))
    assert gradcheck(lambda a: a.exp(), leaf(data((2,))))  # a bare tensor as inputs


def test_detects_wrong_backward():
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(WrongSquare.apply, [leaf(data((3,)))])
    assert gradcheck(WrongSquare.apply, [leaf(data((3,)))], raise_exception=False) is False


def test_names_the_wrong_input():
    x, y = leaf(data((2,))), leaf(data((2,), 1) + 3)
    with pytest.raises(GradcheckError, match="with respect to input 1"):
        gradcheck(WrongSecondInput.apply, [x, y])


def test_inputs_without_grad_are_constants():
    x = leaf(data((2, 2)))
    c = leaf(data((2, 2), 1), requires_grad=False)
    assert gradcheck(lambda a, b: a * b + b, [x, c])
    assert gradcheck(lambda a, k: a * k, [x, 3.0])


def test_multiple_and_integer_outputs():
    x = leaf(data((3, 2)))
    assert gradcheck(lambda a: (a.sin(), a.argmax(), a.max(1)), [x])


def test_leaves_inputs_unchanged():
    a = data((2, 3))
    x = leaf(a)
    gradcheck(lambda t: t.exp().sum(), [x])
    np.testing.assert_array_equal(x.detach().numpy(), a)
    assert x.grad is None


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="require"):
        gradcheck(lambda a: a * 2, [torchlite.ones(2, dtype=torchlite.float64)])
    with pytest.raises(ValueError, match="floating-point"):
        gradcheck(lambda a: a.argmax(), [leaf(data((2,)))])
