"""Tensor.register_post_accumulate_grad_hook and engine.queue_callback (what DDP builds on)."""

import numpy as np
import pytest

import torchlite
from torchlite.autograd import engine


def test_post_accumulate_hook_sees_the_accumulated_grad_once_per_backward():
    w = torchlite.ones(3, requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    (w * 2 + w).sum().backward()  # two uses: one call, with the sum
    (w * 2).sum().backward()  # accumulates into .grad: the hook sees the total
    np.testing.assert_array_equal(seen[0], np.full(3, 3.0))
    np.testing.assert_array_equal(seen[1], np.full(3, 5.0))
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_hook_is_for_leaves_that_require_grad():
    w = torchlite.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torchlite.ones(2).register_post_accumulate_grad_hook(lambda p: None)
    calls = []
    w.register_post_accumulate_grad_hook(calls.append)
    torchlite.autograd.grad((w * 2).sum(), w)  # autograd.grad accumulates nothing
    assert calls == []


def test_queued_callback_runs_once_when_backward_ends():
    w = torchlite.ones(2, requires_grad=True)
    order = []

    def hook(p):
        order.append("hook")
        if order.count("hook") == 1:
            engine.queue_callback(lambda: order.append(("end", p.grad is not None)))

    w.register_post_accumulate_grad_hook(hook)
    (w * 3).sum().backward()
    assert order == ["hook", ("end", True)]
    (w * 3).sum().backward()
    assert order[-1] == "hook" and len(order) == 3
