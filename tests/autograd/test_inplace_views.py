"""Views taken before an in-place change of their base: they show the new values, so their
history must go through the in-place op (PyTorch regenerates a view's grad_fn from its base's).
Expected gradients are worked out by hand in each case; the parity test reruns them in PyTorch.
"""

import numpy as np
import pytest

import torchlite

# each case runs with T bound to torchlite or torch and returns (result, hand-computed value)


def _slice(T):  # v = y[:] = 3x after y.mul_(3): d(v.sum)/dx = 3
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    v = y[:]
    y.mul_(3)
    v.sum().backward()
    return x.grad, [3.0, 3.0]


def _preallocated_buffer(T):  # row = buf[0] = 5x after the setitem; weights (1, 2)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    buf = T.zeros(2, 2)
    row = buf[0]
    buf[0] = x * 5
    (row * T.tensor([1.0, 2.0])).sum().backward()
    return x.grad, [5.0, 10.0]


def _sibling_view(T):  # a = y[:2] doubled; v = y[1:3] = (2 x1, x2): d(v.v)/dx = (0, 8x1, 2x2, 0)
    x = T.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    a, v = y[:2], y[1:3]
    a.mul_(2)
    (v * v).sum().backward()
    return x.grad, [0.0, 16.0, 6.0, 0.0]


def _view_of_view(T):  # c = y[0][1:] = 2 (x01, x02): d(c.c)/dx = 8x there
    x = T.arange(6.0).reshape(2, 3).requires_grad_()
    y = x * 1
    c = y[0][1:]
    y.mul_(2)
    (c * c).sum().backward()
    return x.grad, [[0.0, 8.0, 16.0], [0.0, 0.0, 0.0]]


def _transpose(T):  # t = (x*x).T, weights W: d/dx_ij = 2 x_ij W_ji
    x = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    t = y.t()
    y.mul_(x)
    (t * T.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return x.grad, [[2.0, 12.0], [12.0, 32.0]]


def _diagonal(T):  # d = diag(x*x): 2x on the diagonal
    x = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    d = y.diagonal()
    y.pow_(2)
    d.sum().backward()
    return x.grad, [[2.0, 0.0], [0.0, 8.0]]


def _expand(T):  # e = x*x expanded to 3 rows: 3 * 2x
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    e = y.expand(3, 2)
    y.mul_(x)
    e.sum().backward()
    return x.grad, [6.0, 12.0]


def _reshape(T):  # r = exp(x).view(2, 2); r[1] = exp(x2), exp(x3)
    x = T.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    r = y.view(2, 2)
    y.exp_()
    r[1].sum().backward()
    return x.grad, [0.0, 0.0, float(np.exp(3.0)), float(np.exp(4.0))]


def _inplace_on_stale_view(T):  # y = (6 x0, 3 x1): d(y.y)/dx = (72 x0, 18 x1)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    v = y[:1]
    y.mul_(3)
    v.mul_(2)
    (y * y).sum().backward()
    return x.grad, [72.0, 36.0]


def _leaf_update_no_grad(T):  # an optimizer-style step: v = w[0] still reaches w
    w = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = w[0]
    with T.no_grad():
        w.sub_(1)
    (v * v).sum().backward()
    return w.grad, [[0.0, 2.0], [0.0, 0.0]]


def _autograd_grad(T):  # d(9 x.x)/dx = 18x
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    v = y[:]
    y.mul_(3)
    (g,) = T.autograd.grad((v * v).sum(), x)
    return g, [18.0, 36.0]


def _flags(T):  # a view of a buffer that took a graph through copy_
    x = T.tensor([1.0, 2.0], requires_grad=True)
    buf = T.zeros(2)
    v = buf[:]
    buf.copy_(x)
    return T.tensor([float(v.requires_grad), float(v.is_leaf)]), [1.0, 0.0]


CASES = [_slice, _preallocated_buffer, _sibling_view, _view_of_view, _transpose, _diagonal,
         _expand, _reshape, _inplace_on_stale_view, _leaf_update_no_grad, _autograd_grad, _flags]


def _check(T, case):
    got, expected = case(T)
    np.testing.assert_allclose(got.detach().numpy(), np.array(expected), rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__[1:])
def test_stale_view_gradients(case):
    _check(torchlite, case)


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__[1:])
def test_stale_view_gradients_match_pytorch(case):
    _check(pytest.importorskip("torch"), case)


def test_view_keeps_its_own_history_when_base_unchanged():
    x = torchlite.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    v = y[:]
    node = v.grad_fn
    (v * 2).sum().backward()
    assert v.grad_fn is node  # nothing changed in place: no regeneration
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_no_grad_view_of_base_changed_with_grad_raises():
    x = torchlite.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    with torchlite.no_grad():
        v = y[:]
    y.mul_(3)
    with pytest.raises(RuntimeError, match="view was created in no_grad mode"):
        (v * v).sum()
    with torchlite.no_grad():  # reading it without recording stays allowed
        np.testing.assert_allclose((v * 1).numpy(), [3.0, 6.0])


def test_no_grad_view_and_no_grad_change_are_fine():
    w = torchlite.tensor([1.0, 2.0], requires_grad=True)
    with torchlite.no_grad():
        v = w[:]
        w.sub_(1)
    assert not v.requires_grad
    np.testing.assert_allclose((v * 2).numpy(), [0.0, 2.0])
