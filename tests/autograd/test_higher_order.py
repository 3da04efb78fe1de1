"""backward(create_graph=True) and autograd.grad(create_graph=True, ...): the graph of the
backward pass, as PyTorch records it."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite as torch
from torchlite.autograd.darray import DArray


def _x(*values, grad=True):
    return torch.tensor(list(values), dtype=torch.float64, requires_grad=grad)


def test_grad_with_create_graph_has_history():
    x = _x(1.0, 2.0)
    (g,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0])
    (h,) = torch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])
    assert h.grad_fn is None


def test_third_derivative():
    x = _x(0.3, -0.7)
    y = torch.sin(x).sum()
    (d1,) = torch.autograd.grad(y, x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = torch.autograd.grad(d2.sum(), x)
    np.testing.assert_allclose(d3.numpy(), -np.cos([0.3, -0.7]), rtol=1e-12)


def test_backward_create_graph_sets_grad_with_history():
    x = _x(1.0, 2.0)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_backward_create_graph_accumulates_into_existing_grad():
    x = _x(1.0, 2.0)
    (x ** 2).sum().backward(create_graph=True)
    (x ** 2).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.detach().numpy(), [4.0, 8.0])
    assert x.grad.grad_fn is not None


def test_create_graph_retains_the_graph_by_default():
    x = _x(1.0, 2.0)
    y = (x.exp() * x).sum()
    torch.autograd.grad(y, x, create_graph=True)
    (again,) = torch.autograd.grad(y, x)  # retain_graph defaulted to True
    np.testing.assert_allclose(again.numpy(), np.exp([1.0, 2.0]) * [2.0, 3.0])


def test_without_create_graph_gradients_have_no_history():
    x = _x(1.0, 2.0)
    (g,) = torch.autograd.grad((x ** 3).sum(), x)
    assert not g.requires_grad and g.grad_fn is None


def test_grad_outputs_with_history_join_the_graph():
    x = _x(1.0, 2.0)
    v = _x(0.5, -1.0)
    (g,) = torch.autograd.grad(x ** 2, x, grad_outputs=v, create_graph=True)
    (gv,) = torch.autograd.grad(g.sum(), v)
    np.testing.assert_allclose(gv.numpy(), [2.0, 4.0])


def test_is_grads_batched_stacks_one_pass_per_vector():
    x = _x(1.0, 2.0, 3.0)
    y = x ** 2
    eye = torch.eye(3, dtype=torch.float64)
    (jac,) = torch.autograd.grad(y, x, grad_outputs=eye, is_grads_batched=True)
    np.testing.assert_allclose(jac.numpy(), np.diag([2.0, 4.0, 6.0]))


def test_allow_unused_and_materialize_grads_with_create_graph():
    x, z = _x(1.0), _x(2.0)
    with pytest.raises(RuntimeError, match="allow_unused"):
        torch.autograd.grad((x * 2).sum(), (x, z), create_graph=True)
    gx, gz = torch.autograd.grad((x * 2).sum(), (x, z), create_graph=True, allow_unused=True)
    assert gz is None
    gx, gz = torch.autograd.grad((x * 2).sum(), (x, z), create_graph=True,
                                 materialize_grads=True)
    np.testing.assert_allclose(gz.numpy(), [0.0])


def test_hooks_see_tensors_in_a_graph_pass():
    x = _x(1.0, 2.0)
    seen = []
    y = x * x
    y.register_hook(lambda g: seen.append(g) or g * 2)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    assert isinstance(seen[0], torch.Tensor)
    np.testing.assert_allclose(g.detach().numpy(), [4.0, 8.0])
    (h,) = torch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [4.0, 4.0])


def test_user_function_double_backward_through_its_tensor_backward():
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    x = _x(1.0, 2.0)
    (g,) = torch.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])


def test_user_function_saving_its_output():
    class Exp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = _x(0.5)
    (g,) = torch.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), np.exp([0.5]))


def test_saved_tensor_modified_in_place_is_reported_in_a_graph_pass():
    x = _x(1.0, 2.0)
    y = x * 1.0
    z = (y * y).sum()
    with torch.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        torch.autograd.grad(z, x, create_graph=True)


def test_float32_stays_float32():
    x = torch.tensor([0.5, 1.5], requires_grad=True)
    (g,) = torch.autograd.grad(torch.tanh(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert g.dtype == torch.float32 and h.dtype == torch.float32


def test_same_result_as_the_fast_path():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3))
    w = rng.standard_normal((2, 3))
    out = []
    for create_graph in (False, True):
        x = torch.tensor(a, requires_grad=True)
        lin = torch.nn.functional.linear(x, torch.tensor(w))
        loss = torch.nn.functional.log_softmax(lin, 1).sum() + torch.sigmoid(x).prod()
        (g,) = torch.autograd.grad(loss, x, create_graph=create_graph)
        out.append(g.detach().numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()  # right first derivative, cut second

    x = _x(0.5, 1.5)
    assert torch.autograd.gradcheck(WrongSquare.apply, (x,))
    assert not torch.autograd.gradgradcheck(WrongSquare.apply, (x,), raise_exception=False)
    assert torch.autograd.gradgradcheck(lambda t: t * t, (x,))


class TestDArray:
    """The stand-in's NumPy surface, checked against NumPy on the same values."""

    def setup_method(self):
        self.a = np.arange(1.0, 7.0).reshape(2, 3)
        self.d = DArray(torch.tensor(self.a))

    def _eq(self, got, want):
        got = got.t.detach().numpy() if isinstance(got, DArray) else np.asarray(got)
        np.testing.assert_allclose(got, want)

    def test_methods(self):
        a, d = self.a, self.d
        self._eq(d.sum(axis=0), a.sum(axis=0))
        self._eq(d.sum(axis=(0, 1), keepdims=True), a.sum(axis=(0, 1), keepdims=True))
        self._eq(d.sum(axis=()), a.sum(axis=()))
        self._eq(d.mean(axis=1, keepdims=True), a.mean(axis=1, keepdims=True))
        self._eq(d.max(axis=1), a.max(axis=1))
        self._eq(d.T, a.T)
        self._eq(d.reshape(3, 2), a.reshape(3, 2))
        self._eq(d.transpose(1, 0), a.transpose(1, 0))
        self._eq(d[:, [0, 2]], a[:, [0, 2]])
        self._eq(d[1], a[1])
        self._eq(2.0 - d, 2.0 - a)
        self._eq(1.0 / d, 1.0 / a)
        self._eq(a @ d.T, a @ a.T)
        assert d.shape == a.shape and d.ndim == 2 and d.size == 6 and d.dtype == a.dtype
        assert isinstance(d > 2, np.ndarray)

    def test_namespace(self):
        from torchlite.backend import get_xp

        a, d = self.a, self.d

        xp = get_xp(d)
        self._eq(xp.exp(d), np.exp(a))
        self._eq(xp.where(a > 2, d, 0.0), np.where(a > 2, a, 0.0))
        self._eq(xp.einsum("ij,kj->ik", d, a), np.einsum("ij,kj->ik", a, a))
        self._eq(xp.tensordot(d, a, axes=([1], [1])), np.tensordot(a, a, axes=([1], [1])))
        self._eq(xp.maximum(d, 3.0), np.maximum(a, 3.0))
        self._eq(xp.broadcast_to(d[0], (4, 3)), np.broadcast_to(a[0], (4, 3)))
        self._eq(xp.expand_dims(d, (0, 2)), np.expand_dims(a, (0, 2)))
        self._eq(xp.moveaxis(d, 0, 1), np.moveaxis(a, 0, 1))
        self._eq(xp.pad(d, ((1, 0), (0, 2))), np.pad(a, ((1, 0), (0, 2))))
        buf = xp.zeros((4,), dtype=a.dtype)
        xp.add.at(buf, np.array([0, 0, 3]), d[0])
        self._eq(buf, [3.0, 0.0, 0.0, 3.0])
        buf2 = xp.zeros_like(d)
        buf2[0] = d[1]
        self._eq(buf2, np.stack([a[1], np.zeros(3)]))
        assert xp.arange(3).tolist() == [0, 1, 2]  # anything else is the array module's
        with pytest.raises(NotImplementedError, match="no differentiable formulation"):
            xp.sort(d)


def test_once_differentiable_backward_refuses_a_second_derivative():
    from torchlite.autograd.function import once_differentiable

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = _x(1.0, 2.0)
    (g,) = torch.autograd.grad(Square.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    # as PyTorch: the result has a history only through grad_outputs that have one, and
    # differentiating it raises
    (g,) = torch.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert not g.requires_grad
    v = _x(1.0, 1.0)
    (g,) = torch.autograd.grad(Square.apply(x), x, v, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="once_differentiable"):
        torch.autograd.grad(g.sum(), v)


def test_post_accumulate_grad_hooks_run_in_a_graph_pass():
    x = _x(1.0, 2.0)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.requires_grad))
    (x ** 2).sum().backward(create_graph=True)
    assert seen == [True]
