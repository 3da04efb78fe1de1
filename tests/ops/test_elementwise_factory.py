"""The elementwise op factory (torchlite/ops/elementwise_factory.py): what an op declared through
it keeps for backward, its attributes, unbroadcasting and dtype of gradients, quiet errstate,
and the one ReLU forward shared with the fused bias+ReLU."""

import warnings

import numpy as np
import pytest

import torchlite
from torchlite.autograd.gradcheck import gradcheck
from torchlite.nn.functional.fused_act import bias_act, bias_act_grad
from torchlite.ops.elementwise import Mul
from torchlite.ops.elementwise_factory import QUIET, elementwise
from torchlite.ops.unary import Relu

Cube = elementwise("Cube", lambda xp, x: x * x * x, lambda xp, g, x, out: g * (3 * x * x),
                   reads="x")
Scaled = elementwise("Scaled", lambda xp, x, k: k * xp.sin(x),
                     lambda xp, g, x, out, k: g * (k * xp.cos(x)), reads="x", quiet=QUIET)
Hypot = elementwise("Hypot", lambda xp, a, b: xp.sqrt(a * a + b * b),
                    lambda xp, g, a, b, out: g * a / out,
                    lambda xp, g, a, b, out: g * b / out, reads=("a out", "b out"))


def _leaf(values, dtype=np.float64):
    return torchlite.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_a_unary_op_gradchecks_and_takes_attributes_as_keywords():
    x = _leaf(np.linspace(-2, 2, 7))
    assert gradcheck(lambda t: Cube.apply(t), (x,))
    assert gradcheck(lambda t: Scaled.apply(t, k=2.5), (x,))
    np.testing.assert_allclose(Scaled.apply(x, k=2.5).detach().numpy(),
                               2.5 * np.sin(np.linspace(-2, 2, 7)))


def test_an_op_keeps_only_what_its_derivatives_read():
    x = _leaf([1.0, 2.0])
    y = Cube.apply(x)
    assert len(y.grad_fn.saved_tensors) == 1 and y.grad_fn.saved_tensors[0] is x._data
    z = Relu.apply(x)
    assert len(z.grad_fn.saved_tensors) == 1 and z.grad_fn.saved_tensors[0] is z._data
    # a product keeps B for A's gradient and A for B's: only what the inputs needing one read
    a, b = _leaf([1.0, 2.0]), torchlite.tensor([3.0, 4.0], dtype=torchlite.float64)
    saved = Mul.apply(a, b, np.dtype(np.float64)).grad_fn.saved_tensors
    assert saved[0] is None and saved[1] is b._data


def test_binary_gradients_are_unbroadcast_to_each_input_shape_and_dtype():
    a = _leaf(np.arange(1.0, 7.0).reshape(2, 3))
    b = _leaf([[0.5], [2.0]], np.float32)
    out = Hypot.apply(a, b, np.dtype(np.float64))
    out.sum().backward()
    assert a.grad.shape == (2, 3) and a.grad.dtype == torchlite.float64
    assert b.grad.shape == (2, 1) and b.grad.dtype == torchlite.float32
    h = np.hypot(a.detach().numpy(), b.detach().numpy().astype(np.float64))
    np.testing.assert_allclose(b.grad.numpy(), (b.detach().numpy() / h).sum(1, keepdims=True),
                               rtol=1e-6)
    assert gradcheck(lambda s, t: Hypot.apply(s, t, np.dtype(np.float64)),
                     (a, _leaf([[0.5], [2.0]])))


def test_a_scalar_operand_gets_no_gradient():
    a = _leaf([1.0, 2.0])
    out = Hypot.apply(a, 2.0, np.dtype(np.float64))
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1 / np.sqrt(5), 2 / np.sqrt(8)])


def test_a_residual_is_all_an_op_keeps_and_its_derivatives_read():
    Sq = elementwise("Sq", lambda xp, a, b: ((a - b) ** 2, a - b),
                     lambda xp, g, a, b, out, res: g * (2 * res),
                     lambda xp, g, a, b, out, res: g * (-2 * res), reads=("res", "res"))
    a, b = _leaf([[1.0, 2.0, 3.0]]), _leaf([[0.5], [4.0]])
    out = Sq.apply(a, b, np.dtype(np.float64))
    (res,) = out.grad_fn.saved_tensors
    np.testing.assert_array_equal(res, a.detach().numpy() - b.detach().numpy())
    assert gradcheck(lambda s, t: Sq.apply(s, t, np.dtype(np.float64)), (a, b))
    with pytest.raises(ValueError, match="residual"):
        elementwise("Bad", lambda xp, a, b: (a, a), lambda *a, **k: None, lambda *a, **k: None,
                    reads=("res a", "res"))


def test_quiet_ops_do_not_warn_on_inf_and_nan():
    x = torchlite.tensor([0.0, 1e308], dtype=torchlite.float64, requires_grad=True)
    Loud = elementwise("Loud", lambda xp, x: 1 / x, lambda xp, g, x, out: -g * out * out,
                       reads="out")
    Quiet = elementwise("Quiet", lambda xp, x: 1 / x, lambda xp, g, x, out: -g * out * out,
                        reads="out", quiet=QUIET)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Quiet.apply(x).sum().backward()
        with pytest.raises(RuntimeWarning):
            Loud.apply(x)


def test_bad_declarations_are_refused():
    with pytest.raises(ValueError, match="reads"):
        elementwise("Bad", lambda xp, x: x, lambda xp, g, x, out: g, reads="y")
    with pytest.raises(ValueError, match="reads"):
        elementwise("Bad", lambda xp, a, b: a, lambda *a: None, lambda *a: None, reads=("a",))
    with pytest.raises(ValueError, match="one derivative per input"):
        elementwise("Bad", lambda xp, x: x, reads="x")


def test_the_fused_bias_relu_runs_relus_own_forward_and_derivative():
    x = np.array([[-np.inf, -1.0, 0.0, 2.0, np.nan, np.inf]], dtype=np.float32)
    t = torchlite.tensor(x, requires_grad=True)
    y = Relu.apply(t)
    fused = bias_act(x.copy(), None, "relu", x.copy())
    np.testing.assert_array_equal(fused, y.detach().numpy())
    g = np.arange(6, dtype=np.float32).reshape(1, 6)
    y.backward(torchlite.tensor(g))
    np.testing.assert_array_equal(bias_act_grad(g, fused, "relu"), t.grad.numpy())
