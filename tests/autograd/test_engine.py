"""The backward engine: roots, accumulation, retained graphs, hooks, versions, deep chains."""

import gc
import weakref

import numpy as np
import pytest
from _core_checks import leaf, to_np

import torchlite
from torchlite import autograd


def test_scalar_backward_and_implicit_gradient_rules():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        y.backward()
    y.backward(torchlite.tensor([1.0, 0.5, 0.0], dtype=torchlite.float64))
    np.testing.assert_array_equal(to_np(x.grad), [2.0, 1.0, 0.0])
    x.grad = None
    (x * 3.0).backward(gradient=torchlite.ones(3))  # cast to the output's dtype
    np.testing.assert_array_equal(to_np(x.grad), [3.0, 3.0, 3.0])
    assert x.grad.dtype == torchlite.float64
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(2,\).*\(3,\)"):
        (x * 1.0).backward(torchlite.ones(2, dtype=torchlite.float64))
    z = leaf([[4.0]])
    (z * 2).backward()  # a one-element tensor counts as a scalar
    assert z.grad.item() == 2.0


def test_backward_on_tensor_without_grad_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        torchlite.ones(2).sum().backward()
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.detach().sum().backward()


def test_gradients_accumulate_over_backward_calls():
    x = leaf([1.0, -2.0])
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [2.0 + 3.0, -4.0 + 3.0])
    g = x.grad
    (x * 1.0).sum().backward()
    assert x.grad is g  # accumulated in place of the same .grad tensor's value


def test_grad_is_not_aliased_to_user_gradient():
    x = leaf([1.0, 2.0])
    seed = torchlite.ones(2, dtype=torchlite.float64)
    (x * 1.0).backward(seed)  # MulBackward passes g * 1: a new array
    x.grad.zero_()
    assert seed.tolist() == [1.0, 1.0]
    y = leaf([1.0, 2.0])
    y.backward(seed)  # backward from a leaf: the seed itself must not become y.grad
    y.grad.add_(1.0)
    assert seed.tolist() == [1.0, 1.0]


def test_leaf_used_twice_and_diamond_graph():
    x = leaf([2.0])
    a = x * 3.0
    b = x * x
    c = a * b + a  # dc/dx = 3*x^2*... = d(3x^3 + 3x)/dx = 9x^2 + 3
    c.backward()
    np.testing.assert_allclose(to_np(x.grad), [9 * 4 + 3])


def test_retain_grad_on_non_leaves():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    z = y * y
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    w = z * 1.0
    z.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(to_np(y.grad), [6.0, 12.0])
    assert w.grad is None
    z.sum().backward()
    np.testing.assert_array_equal(to_np(y.grad), [12.0, 24.0])
    assert not y.is_leaf and x.is_leaf
    with pytest.raises(RuntimeError, match="retain_grad"):
        torchlite.ones(2).retain_grad()


def test_freed_graph_errors_and_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(to_np(x.grad), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_saved_arrays_are_freed_after_backward():
    x = leaf(np.ones(1000))
    y = x.exp()
    node = y.grad_fn
    assert len(node._saved) == 1
    y.sum().backward()
    assert node._saved == ()


def test_autograd_grad_returns_without_touching_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (x * w).sum()
    gx, gw = autograd.grad(y, [x, w], retain_graph=True)
    np.testing.assert_array_equal(to_np(gx), [3.0, 4.0])
    np.testing.assert_array_equal(to_np(gw), [1.0, 2.0])
    assert x.grad is None and w.grad is None
    (g,) = autograd.grad(x * w, x, grad_outputs=torchlite.tensor([1.0, 2.0],
                                                                  dtype=torchlite.float64))
    np.testing.assert_array_equal(to_np(g), [3.0, 8.0])


def test_autograd_grad_allow_unused_and_nonleaf_inputs():
    x, unused = leaf([1.0]), leaf([5.0])
    y = x * 2.0
    z = y * y
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        autograd.grad(z, [x, unused], retain_graph=True)
    gx, gu = autograd.grad(z, [x, unused], allow_unused=True, retain_graph=True)
    assert gu is None and gx.item() == 8.0
    (gy,) = autograd.grad(z, y, retain_graph=True)  # gradient w.r.t. an intermediate
    assert gy.item() == 4.0
    gx, gu = autograd.grad(z, [x, unused], allow_unused=True, materialize_grads=True)
    assert gu.item() == 0.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad(z, torchlite.ones(1))


def test_multiple_roots_and_backward_inputs():
    x, w = leaf([1.0, 2.0]), leaf([3.0])
    y1, y2 = x * 2.0, (x * w).sum()
    autograd.backward([y1, y2], [torchlite.ones(2, dtype=torchlite.float64), None])
    np.testing.assert_array_equal(to_np(x.grad), [2.0 + 3.0, 2.0 + 3.0])
    np.testing.assert_array_equal(to_np(w.grad), [3.0])
    x.grad = w.grad = None
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.item() == 3.0


def test_create_graph_records_the_backward_pass():
    # higher-order gradients are supported (tests/autograd/test_higher_order.py covers them)
    x = leaf([3.0])
    (x * x * x).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    (g2,) = torchlite.autograd.grad(x.grad.sum(), x)  # d/dx 3x^2 = 6x
    np.testing.assert_allclose(g2.numpy(), [18.0])


def test_long_chain_has_no_recursion_error():
    x = leaf([1.0], dtype=torchlite.float32)
    y = x
    for _ in range(100_000):
        y = y + 0.0001
    y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0
    np.testing.assert_allclose(y.item(), 1.0 + 10.0, rtol=1e-3)


def test_graph_is_released_when_unreferenced():
    x = leaf(np.ones(10))
    y = (x * 2.0).exp()
    ref = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert ref() is None


# --------------------------------------------------------------------------------------------
# hooks


def test_register_hook_on_leaf_and_nonleaf():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(to_np(g).copy()))
    y = x * 3.0
    y.register_hook(lambda g: g * 10.0)  # replaces the gradient flowing on
    y.sum().backward()
    np.testing.assert_array_equal(seen[0], [30.0, 30.0])
    np.testing.assert_array_equal(to_np(x.grad), [30.0, 30.0])
    h.remove()
    x.grad = None
    (x * 1.0).sum().backward()
    assert len(seen) == 1
    with pytest.raises(RuntimeError, match="hook"):
        torchlite.ones(1).register_hook(lambda g: g)


def test_leaf_hook_runs_once_with_the_total_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * 2.0 + x * x + x).sum().backward()
    assert seen == [[5.0, 7.0]] and x.grad.tolist() == [5.0, 7.0]


def test_node_hooks_and_introspection():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = (y + 1.0).sum()
    assert z.grad_fn.name() == "SumBackward0"
    assert y.grad_fn.name() == "MulBackward0"
    assert repr(y).endswith("grad_fn=<MulBackward0>)")
    (nxt, idx), _, _ = y.grad_fn.next_functions
    assert nxt.name() == "AccumulateGrad" and nxt.variable is x and idx == 0
    calls = []
    y.grad_fn.register_hook(lambda gin, gout: calls.append((len(gin), len(gout))))
    z.backward()
    assert calls == [(3, 1)]
