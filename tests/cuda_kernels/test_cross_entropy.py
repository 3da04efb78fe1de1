"""Fused log-softmax + NLL: the NumPy references equal torchlite's CPU cross_entropy (forward and
gradient, with class weights, ignore_index and label smoothing), and the kernels equal the
references (on a GPU)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import torchlite
import torchlite.nn.functional as F
from torchlite._cuda_kernels import cross_entropy as K

CASES = list(itertools.product([False, True], [0.0, 0.1], ["mean", "sum", "none"]))


def _inputs(rng, dtype, n=9, c=5, weighted=False):
    x = (rng.normal(size=(n, c)) * 3).astype(dtype)
    t = rng.integers(0, c, size=n)
    t[2] = t[5 % n] = -100
    w = (rng.random(c) + 0.5).astype(dtype) if weighted else None
    return x, t, w


def _reduce(loss, coef, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / coef.sum()


def _cpu(x, t, w, eps, reduction, g):
    xt = torchlite.tensor(x, requires_grad=True)
    out = F.cross_entropy(xt, torchlite.tensor(t), weight=None if w is None else
                          torchlite.tensor(w), reduction=reduction, label_smoothing=eps)
    out.backward(torchlite.tensor(g))
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted,eps,reduction", CASES)
def test_reference_equals_the_cpu_op(dtype, weighted, eps, reduction, rng):
    x, t, w = _inputs(rng, dtype, weighted=weighted)
    loss, stats, coef = K.cross_entropy_forward_reference(x, t, w, label_smoothing=eps)
    g = rng.normal(size=(len(t),) if reduction == "none" else ()).astype(dtype)
    want, want_grad = _cpu(x, t, w, eps, reduction, g)
    np.testing.assert_array_equal(_reduce(loss, coef, reduction), want)  # the same operations
    grad = K.cross_entropy_backward_reference(x, t, stats, g, weight=w, label_smoothing=eps,
                                              reduction=reduction, denom=coef.sum())
    np.testing.assert_array_equal(grad, want_grad)
    assert loss.dtype == grad.dtype == stats.dtype == dtype and stats.shape == (len(t), 2)


def test_reference_with_extreme_logits(rng):
    x, t, _ = _inputs(rng, np.float32)
    x[0, 0], x[1] = 1e4, -1e4
    loss, stats, coef = K.cross_entropy_forward_reference(x, t)
    want, _ = _cpu(x, t, None, 0.0, "none", np.ones(len(t), np.float32))
    np.testing.assert_array_equal(loss, want)
    assert np.isfinite(loss).all()


def test_reference_marks_out_of_range_targets():
    x = np.zeros((3, 4), np.float32)
    loss, _, _ = K.cross_entropy_forward_reference(x, np.array([1, 7, -100]))
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and loss[2] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted,eps,reduction", CASES)
@pytest.mark.parametrize("n,c", [(9, 5), (300, 1000), (4, 1)])
def test_kernels_equal_the_reference_and_the_cpu_op(cp, dtype, weighted, eps, reduction, n, c,
                                                   rng):
    x, t, w = _inputs(rng, dtype, n, c, weighted)
    dw = None if w is None else cp.asarray(w)
    loss, stats, coef = K.cross_entropy_forward(cp.asarray(x), cp.asarray(t), dw,
                                                label_smoothing=eps)
    r_loss, r_stats, r_coef = K.cross_entropy_forward_reference(x, t, w, label_smoothing=eps)
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cp.asnumpy(loss), r_loss, **tol)
    np.testing.assert_allclose(cp.asnumpy(stats), r_stats, **tol)
    np.testing.assert_array_equal(cp.asnumpy(coef), r_coef)
    g = rng.normal(size=(n,) if reduction == "none" else ()).astype(dtype)
    grad = K.cross_entropy_backward(cp.asarray(x), cp.asarray(t), stats, cp.asarray(g),
                                    weight=dw, label_smoothing=eps, reduction=reduction,
                                    denom=coef.sum())
    r_grad = K.cross_entropy_backward_reference(x, t, r_stats, g, weight=w, label_smoothing=eps,
                                                reduction=reduction, denom=r_coef.sum())
    np.testing.assert_allclose(cp.asnumpy(grad), r_grad, **tol)
    want, want_grad = _cpu(x, t, w, eps, reduction, g)
    np.testing.assert_allclose(cp.asnumpy(_reduce(loss, coef, reduction)), want, **tol)
    np.testing.assert_allclose(cp.asnumpy(grad), want_grad, **tol)


def test_kernel_argument_checks(cp):
    x = cp.zeros((3, 4), cp.float32)
    with pytest.raises(ValueError, match=r"logits \(N, C\) and targets \(N,\)"):
        K.cross_entropy_forward(x, cp.zeros(4, cp.int64))
    with pytest.raises(ValueError, match="needs denom"):
        K.cross_entropy_backward(x, cp.zeros(3, cp.int64), cp.zeros((3, 2), cp.float32),
                                 cp.ones((), cp.float32))
