"""Grad mode: no_grad, enable_grad, set_grad_enabled, inference_mode; thread-local state."""

import threading

import pytest
from _core_checks import leaf

import torchlite


def test_no_grad_context_manager():
    x = leaf([1.0])
    assert torchlite.is_grad_enabled()
    with torchlite.no_grad():
        assert not torchlite.is_grad_enabled()
        y = x * 2
        assert not y.requires_grad and y.grad_fn is None
        with torchlite.enable_grad():
            assert torchlite.is_grad_enabled()
            assert (x * 2).requires_grad
        assert not torchlite.is_grad_enabled()
    assert torchlite.is_grad_enabled()
    assert (x * 2).requires_grad


def test_decorators():
    x = leaf([1.0])

    @torchlite.no_grad()
    def f(t):
        return t * 2, torchlite.is_grad_enabled()

    @torchlite.enable_grad()
    def g(t):
        return t * 2

    @torchlite.set_grad_enabled(False)
    def h(t):
        return t * 2

    assert torchlite.is_grad_enabled()  # decorating does not switch the mode
    y, enabled = f(x)
    assert not y.requires_grad and not enabled
    with torchlite.no_grad():
        assert g(x).requires_grad
    assert not h(x).requires_grad
    assert torchlite.is_grad_enabled()
    assert f.__name__ == "f"


def test_set_grad_enabled_as_function_and_context():
    x = leaf([1.0])
    try:
        torchlite.set_grad_enabled(False)
        assert not torchlite.is_grad_enabled() and not (x * 1).requires_grad
        torchlite.set_grad_enabled(True)
        assert torchlite.is_grad_enabled()
    finally:
        torchlite.set_grad_enabled(True)
    with torchlite.set_grad_enabled(False):
        assert not torchlite.is_grad_enabled()
    assert torchlite.is_grad_enabled()
    with torchlite.no_grad():
        with torchlite.set_grad_enabled(True):
            assert (x * 1).requires_grad
        assert not torchlite.is_grad_enabled()


def test_inference_mode():
    x = leaf([1.0])
    with torchlite.inference_mode():
        assert not (x * 1).requires_grad
    with torchlite.inference_mode(False):
        assert (x * 1).requires_grad
    assert torchlite.autograd.grad_mode.is_grad_enabled()


def test_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with torchlite.no_grad():
            raise ValueError("boom")
    assert torchlite.is_grad_enabled()

    @torchlite.no_grad()
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    assert torchlite.is_grad_enabled()


def test_decorated_function_is_reentrant():
    @torchlite.no_grad()
    def rec(n):
        if n:
            rec(n - 1)
        return torchlite.is_grad_enabled()

    assert rec(3) is False
    assert torchlite.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []

    def worker():
        seen.append(torchlite.is_grad_enabled())

    with torchlite.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == [True]


def test_leaf_results_under_no_grad_can_require_grad_later():
    with torchlite.no_grad():
        w = torchlite.ones(2) * 3
    w.requires_grad_()
    (w * w).sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]


def test_bare_decorators():
    @torchlite.no_grad
    def f(x):
        return x * 2

    @torchlite.enable_grad
    def g(x):
        return x * 2

    x = torchlite.ones(2, requires_grad=True)
    assert not f(x).requires_grad and f.__name__ == "f"
    with torchlite.no_grad():
        assert g(x).requires_grad
