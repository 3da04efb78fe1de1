"""The in-place arithmetic the updates are built from (torchlite/optim/_inplace.py): PyTorch's
order of operations, the same bits with scratch arrays as with fresh temporaries, and the
parameter's `.grad` never changed."""

import itertools

import numpy as np
import pytest

from torchlite.optim import _inplace


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(50).astype(np.float32) for _ in range(3)]


@pytest.mark.parametrize("weight", [0.1, 0.49, 0.5, 0.9, 1.0])
def test_lerp_is_pytorchs_evaluation_with_or_without_scratch(arrays, weight):
    start, end, _ = arrays
    diff = end - start
    if weight < 0.5:
        want = start + diff * np.float32(weight)
    else:  # from the end, so that weight 1 gives `end` exactly
        want = end - diff * np.float32(1.0 - weight)
    for scratch in (None, np.empty_like(start)):
        got = start.copy()
        _inplace.lerp_(got, end, weight, scratch)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    if weight == 1.0:
        np.testing.assert_array_equal(want, end)


def test_addcmul_and_square_avg_with_or_without_scratch(arrays):
    target, a, b = arrays
    want = target + (a * np.float32(0.3)) * b
    want_avg = target * np.float32(0.9) + (a * np.float32(1 - 0.9)) * a
    for scratch in (None, np.empty_like(target)):
        got = target.copy()
        _inplace.addcmul_(got, a, b, 0.3, scratch)
        np.testing.assert_array_equal(got, want)
        avg = target.copy()
        _inplace.square_avg_(avg, a, 0.9, scratch)
        np.testing.assert_array_equal(avg, want_avg)


@pytest.mark.parametrize("maximize,weight_decay",
                         list(itertools.product([False, True], [0.0, 0.1])))
def test_effective_grad_leaves_grad_alone(arrays, maximize, weight_decay):
    param, grad, _ = arrays
    before = grad.copy()
    want = (-grad if maximize else grad) + param * np.float32(weight_decay)
    plain = _inplace.effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay)
    out, scratch = np.empty_like(grad), np.empty_like(grad)
    into = _inplace.effective_grad(param, grad, maximize=maximize, weight_decay=weight_decay,
                                   out=out, scratch=scratch)
    np.testing.assert_array_equal(grad, before)
    if not maximize and not weight_decay:
        assert plain is grad and into is grad
    else:
        assert into is out and plain is not grad
    for got in (plain, into):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
