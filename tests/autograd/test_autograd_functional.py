"""torchlite.autograd.functional (this file mirrors autograd/functional.py; the name avoids
tests/nn/test_functional.py): values, output structures, strict mode and errors."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite as torch
import torchlite.autograd.functional as AF

_A = np.array([0.3, -0.5, 1.2])
_W = np.array([[0.1, 0.2, -0.3], [0.5, -0.4, 0.6]])


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _np(t):
    return t.detach().numpy()


def test_jacobian_of_a_single_tensor_function():
    w = _t(_W)
    jac = AF.jacobian(lambda x: w @ torch.tanh(x), _t(_A))
    want = _W * (1 - np.tanh(_A) ** 2)
    np.testing.assert_allclose(_np(jac), want, rtol=1e-12)
    assert not jac.requires_grad


def test_jacobian_structures_follow_pytorch():
    x, w = _t(_A), _t(_W)
    one_in_many_out = AF.jacobian(lambda x: (x.sin(), x.sum()), x)
    assert isinstance(one_in_many_out, tuple) and len(one_in_many_out) == 2
    assert tuple(one_in_many_out[0].shape) == (3, 3) and tuple(one_in_many_out[1].shape) == (3,)
    many_in_one_out = AF.jacobian(lambda x, w: w @ x, (x, w))
    assert isinstance(many_in_one_out, tuple) and len(many_in_one_out) == 2
    assert tuple(many_in_one_out[1].shape) == (2, 2, 3)
    nested = AF.jacobian(lambda x, w: (w @ x, x * 2), (x, w))
    assert len(nested) == 2 and all(len(row) == 2 for row in nested)
    tuple_of_one = AF.jacobian(lambda x: x * 2, (x,))
    assert isinstance(tuple_of_one, tuple) and len(tuple_of_one) == 1


def test_strict_mode_refuses_an_independent_input():
    x, w = _t(_A), _t(_W)
    jac = AF.jacobian(lambda x, w: x * 2, (x, w))
    assert np.all(_np(jac[1]) == 0)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda x, w: x * 2, (x, w), strict=True)
    with pytest.raises(RuntimeError, match="independent of input"):
        AF.vjp(lambda x, w: x * 2, (x, w), torch.ones(3, dtype=torch.float64), strict=True)


def test_hessian_of_a_scalar_function():
    h = AF.hessian(lambda x: (x ** 3).sum(), _t(_A))
    np.testing.assert_allclose(_np(h), np.diag(6 * _A), rtol=1e-12)
    with pytest.raises(RuntimeError, match="single element"):
        AF.hessian(lambda x: x ** 2, _t(_A))


def test_hessian_of_two_inputs_is_nested_by_input_pairs():
    h = AF.hessian(lambda x, w: (w @ x).pow(2).sum(), (_t(_A), _t(_W)))
    assert len(h) == 2 and len(h[0]) == 2
    assert tuple(h[0][1].shape) == (3, 2, 3)
    np.testing.assert_allclose(_np(h[0][0]), 2 * _W.T @ _W, rtol=1e-12)


def test_vjp_jvp_hvp_vhp_values():
    w = _t(_W)
    x = _t(_A)
    out, vj = AF.vjp(lambda x: w @ x.sin(), x, _t([1.0, -2.0]))
    np.testing.assert_allclose(_np(vj), (np.array([1.0, -2.0]) @ _W) * np.cos(_A))
    np.testing.assert_allclose(_np(out), _W @ np.sin(_A))
    v = _t([1.0, 0.5, -1.0])
    _, jv = AF.jvp(lambda x: w @ x.sin(), x, v)
    np.testing.assert_allclose(_np(jv), _W @ (np.cos(_A) * [1.0, 0.5, -1.0]), rtol=1e-12)
    f = lambda x: (x.sin() * x).sum()  # noqa: E731
    hess = np.diag(2 * np.cos(_A) - _A * np.sin(_A))
    _, hv = AF.hvp(f, x, v)
    _, vh = AF.vhp(f, x, v)
    np.testing.assert_allclose(_np(hv), hess @ [1.0, 0.5, -1.0], rtol=1e-12)
    np.testing.assert_allclose(_np(vh), _np(hv), rtol=1e-12)


def test_create_graph_keeps_the_result_differentiable():
    x = _t(_A, grad=True)
    jac = AF.jacobian(lambda t: t ** 3, x, create_graph=True)
    assert jac.requires_grad
    (g,) = torch.autograd.grad(jac.sum(), x)
    np.testing.assert_allclose(_np(g), 6 * _A, rtol=1e-12)


def test_v_checks():
    x = _t(_A)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        AF.vjp(lambda x: x * 2, x, torch.ones(2, dtype=torch.float64))
    with pytest.raises(TypeError, match="Tensor"):
        AF.jacobian(lambda x: x, [1.0, 2.0])


def test_vectorize_gives_the_same_jacobian():
    w = _t(_W)
    a = AF.jacobian(lambda x: w @ x.exp(), _t(_A))
    b = AF.jacobian(lambda x: w @ x.exp(), _t(_A), vectorize=True)
    np.testing.assert_allclose(_np(a), _np(b))


@pytest.mark.parity
def test_against_pytorch():
    pt = pytest.importorskip("torch")
    import torch.autograd.functional as PF

    def run(lib, F):
        x, w = (lib.tensor(a, dtype=lib.float64) for a in (_A, _W))
        v3 = lib.tensor([1.0, 0.5, -1.0], dtype=lib.float64)
        return [
            F.jacobian(lambda x, w: (w @ x.sin(), x.exp()), (x, w)),
            F.hessian(lambda x, w: (w @ x.tanh()).pow(2).sum(), (x, w)),
            F.vjp(lambda x: w @ x.tanh(), x, lib.ones(2, dtype=lib.float64)),
            F.jvp(lambda x: w @ x.tanh(), x, v3),
            F.hvp(lambda x: x.tanh().pow(2).sum(), x, v3),
            F.vhp(lambda x: x.tanh().pow(2).sum(), x, v3),
        ]

    def flat(v):
        if isinstance(v, (tuple, list)):
            return [flat(i) for i in v]
        return v.detach().numpy()

    def same(a, b):
        if isinstance(a, list):
            assert isinstance(b, list) and len(a) == len(b)
            for i, j in zip(a, b):
                same(i, j)
        else:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)

    same(flat(run(pt, PF)), flat(run(torch, AF)))
