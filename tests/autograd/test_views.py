"""Views, in-place ops and version counters (torchlite/autograd/views.py).

Views taken before an in-place change of their base show the new values, so their history must go
through the in-place op (PyTorch regenerates a view's grad_fn from its base's). Expected gradients
are worked out by hand in each case; the parity test reruns them in PyTorch.
"""

import numpy as np
import pytest
from _core_checks import leaf, to_np

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


# --------------------------------------------------------------------------------------------
# in-place and versions


def test_inplace_change_of_saved_tensor_raises_version_error():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = y * y  # saves y
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1"):
        z.sum().backward()
    a = leaf([1.0, 2.0])
    b = a.exp()  # saves its output
    b.mul_(2.0)
    with pytest.raises(RuntimeError, match="inplace"):
        b.sum().backward()


def test_inplace_on_unsaved_nonleaf_is_fine():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.mul_(3.0)
    y.add_(x)
    y.log_()
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [7.0 / 7.0, 7.0 / 14.0])


def test_inplace_on_leaf_requiring_grad_raises():
    w = leaf([1.0, 2.0])
    for op in (lambda: w.add_(1.0), lambda: w.mul_(2.0), lambda: w.zero_(),
               lambda: w.fill_(1.0), lambda: w.copy_(torchlite.ones(2)),
               lambda: w.__setitem__(0, 1.0), lambda: w.uniform_(), lambda: w[0].mul_(2.0)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            op()
    with torchlite.no_grad():
        w.add_(1.0)
        w[1].mul_(2.0)
    assert w.tolist() == [2.0, 6.0] and w.is_leaf and w.requires_grad


def test_inplace_version_counter():
    x = torchlite.ones(3)
    v0 = x._version
    x.add_(1)
    x[0] = 3.0
    x.zero_()
    assert x._version == v0 + 3


def test_views_share_the_version_counter_and_record_their_base():
    x = torchlite.ones(2, 3)
    chain = [x[0], x.t(), x.view(6), x.diagonal(), x.expand(4, 2, 3), x.detach()]
    for v in chain:
        assert v._vbox is x._vbox
    assert x[0]._view.base is x and x.view(6).view(3, 2)._view.base._view.base is x
    assert x.clone()._vbox is not x._vbox and x.clone()._view is None
    before = x._version
    x.t()[0, 1] = 5.0  # through a view: the base sees the value and the version moves on
    assert x[1, 0].item() == 5.0 and x._version == before + 1


def test_inplace_through_views_of_views_reaches_every_base():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    base = x * 1.0
    base.t()[0].mul_(leaf([10.0, 100.0]))  # column 0 of base, through a transpose and a row
    assert base.grad_fn.name() == "ViewWriteBackward0"
    base.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[10.0, 1.0], [100.0, 1.0]])


def test_inplace_on_a_view_records_the_write_back_for_each_view_kind():
    for make in (lambda b: b[1:], lambda b: b.view(4), lambda b: b.t(), lambda b: b.diagonal()):
        x = leaf([[1.0, 2.0], [3.0, 4.0]])
        base = x * 1.0
        view = make(base)
        view.mul_(3.0)
        base.sum().backward()
        want = np.ones((2, 2))
        region = make(torchlite.tensor(want))  # (the same view of a plain tensor marks where)
        region.mul_(3.0)
        np.testing.assert_array_equal(to_np(x.grad), region._view.base.numpy())


def test_a_leaf_view_refuses_in_place_through_a_view_chain():
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        w.t()[0].add_(1.0)
