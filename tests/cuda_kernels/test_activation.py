"""Fused bias + activation: the NumPy references equal torchlite's CPU ops (forward and
gradient), and the kernels equal the references (on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite
import torchlite.nn.functional as F
from torchlite._cuda_kernels import activation as K

OPS = {
    None: lambda t: t * 1.0,
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "silu": F.silu,
    "sigmoid": torchlite.sigmoid,
    "tanh": torchlite.tanh,
}
# float32 gelu: the CPU's erf is a polynomial (|error| < 1.5e-7), the references' exact
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-14, atol=1e-15)}


def assert_grad_close(got, want, g, s, act, dtype, rtol, atol):
    """assert_allclose, with room for gelu_tanh's backward: near tanh's saturation it is
    g * (0.5 (1 + t) + 0.5 s (1 - t^2) d) with t within ulps of -1, so an ulp of t (CUDA's and
    glibc's tanh are not NumPy's) moves it by about |g| (0.5 + |s| d) ulps of 1."""
    got, want = np.asarray(got), np.asarray(want)
    if act == "gelu_tanh":
        s = np.abs(s.astype(np.float64))
        d = K._SQRT_2_OVER_PI * (1 + 3 * 0.044715 * s * s)
        atol = atol + 4 * np.finfo(dtype).eps * np.abs(g) * (0.5 + s * d)
    bad = ~(np.abs(got - want) <= atol + rtol * np.abs(want))
    bad &= ~(np.isnan(got) & np.isnan(want))
    assert not bad.any(), (f"{act} {np.dtype(dtype)}: {bad.sum()} of {bad.size} differ, e.g. "
                           f"{got[bad][:3]} vs {want[bad][:3]}")


def _inputs(rng, dtype, shape=(6, 5), bias_shape=(5,)):
    x = (rng.normal(size=shape) * 3).astype(dtype)
    x.flat[0], x.flat[1] = 0.0, -0.0  # the kink of relu
    b = rng.normal(size=bias_shape).astype(dtype)
    g = rng.normal(size=shape).astype(dtype)
    return x, b, g


def _cpu(x, b, g, act):
    """torchlite's CPU op on x + b: the output and the gradient w.r.t. x + b."""
    z = torchlite.tensor(x + b, requires_grad=True)
    out = OPS[act](z)
    out.backward(torchlite.tensor(g))
    return out.detach().numpy(), z.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", K.ACTIVATIONS)
def test_reference_equals_the_cpu_ops(dtype, act, rng):
    x, b, g = _inputs(rng, dtype)
    y = x.copy()
    saved = K.bias_act_reference(y, b, act)
    assert (saved is y) == K.saves_output(act)
    want_y, want_g = _cpu(x, b, g, act)
    np.testing.assert_allclose(y, want_y, **TOL[dtype])
    grad = K.bias_act_grad_reference(g, saved, act)
    np.testing.assert_allclose(grad, want_g, **TOL[dtype])
    assert y.dtype == grad.dtype == dtype


def test_channel_bias_and_no_bias(rng):
    x, b, g = _inputs(rng, np.float32, (2, 3, 4, 4), (3, 1, 1))
    y = x.copy()
    K.bias_act_reference(y, b, "relu")
    np.testing.assert_array_equal(y, np.maximum(x + b, 0))
    y = x.copy()
    K.bias_act_reference(y, None, "tanh")
    np.testing.assert_array_equal(y, np.tanh(x))


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        K.bias_act_reference(np.zeros(2, np.float32), None, "swish")
    with pytest.raises(ValueError, match="unknown activation"):
        K.saves_output("elu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", K.ACTIVATIONS)
def test_kernel_equals_the_reference_and_the_cpu_op(cp, dtype, act, rng):
    x, b, g = _inputs(rng, dtype, (64, 33), (33,))
    y = cp.asarray(x)
    saved = K.bias_act(y, cp.asarray(b), act)
    assert (saved is y) == K.saves_output(act)
    ref = x.copy()
    ref_saved = K.bias_act_reference(ref, b, act)
    tol = dict(rtol=4e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(cp.asnumpy(y), ref, **tol)
    np.testing.assert_allclose(cp.asnumpy(saved), ref_saved, **tol)
    grad = K.bias_act_grad(cp.asarray(g), saved, act)
    assert_grad_close(cp.asnumpy(grad), K.bias_act_grad_reference(g, ref_saved, act), g,
                      ref_saved, act, dtype, **tol)
    want_y, want_g = _cpu(x, b, g, act)
    np.testing.assert_allclose(cp.asnumpy(y), want_y, **tol)
    assert_grad_close(cp.asnumpy(grad), want_g, g, ref_saved, act, dtype, **tol)


def test_kernel_with_a_channel_bias(cp, rng):
    x, b, _ = _inputs(rng, np.float32, (2, 3, 4, 4), (3, 1, 1))
    y = cp.asarray(x)
    K.bias_act(y, cp.asarray(b), "silu")
    ref = x.copy()
    K.bias_act_reference(ref, b, "silu")
    np.testing.assert_allclose(cp.asnumpy(y), ref, rtol=4e-6, atol=1e-6)
    y = cp.asarray(x)
    K.bias_act(y, None, "relu")
    np.testing.assert_array_equal(cp.asnumpy(y), np.maximum(x, 0))
