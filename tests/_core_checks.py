"""Helpers for the core op tests: float64 gradient checks and float32 NumPy comparisons.

Imported by tests/ops, tests/autograd and tests/test_*.py (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import numpy as np

import torchlite
from torchlite.autograd import gradcheck


def data(shape, seed=0, low=-2.0, high=2.0, away_from_zero=False) -> np.ndarray:
    """Reproducible float64 test values; `away_from_zero` keeps |x| >= 0.5 (for 1/x, x**y...)."""
    r = np.random.default_rng(seed)
    a = r.uniform(low, high, size=shape)
    if away_from_zero:
        a = np.where(np.abs(a) < 0.5, np.sign(a + 1e-12) * 0.5 + a, a)
    return np.asarray(a, dtype=np.float64)


def leaf(a, dtype=torchlite.float64, device="cpu", requires_grad=True) -> torchlite.Tensor:
    return torchlite.tensor(np.asarray(a), dtype=dtype, device=device, requires_grad=requires_grad)


def noncontig_leaf(a: np.ndarray, kind: str) -> torchlite.Tensor:
    """A float64 leaf holding `a` in non-contiguous memory: transposed ('T') or strided ('step')."""
    a = np.asarray(a, dtype=np.float64)
    if kind == "T":
        mem = np.ascontiguousarray(a.transpose())
        view = mem.transpose()
    else:
        mem = np.zeros(tuple(2 * s + 1 for s in a.shape))
        view = mem[tuple(slice(1, None, 2) for _ in a.shape)]
        view[...] = a
    assert a.ndim < 2 or not view.flags.c_contiguous
    t = torchlite.from_numpy(view)
    t.requires_grad_(True)
    return t


def check_grad(fn, *arrays, **kwargs) -> None:
    """gradcheck `fn` on float64 leaves built from `arrays` (Tensors are used as they are)."""
    inputs = [a if isinstance(a, torchlite.Tensor) else leaf(a) for a in arrays]
    assert gradcheck(fn, inputs, **kwargs)


def check_forward(fn, np_fn, *arrays, device="cpu", rtol=1e-5, atol=1e-6) -> None:
    """fn on float32 tensors equals np_fn on float32 arrays, and the result stays float32."""
    arrays32 = [np.asarray(a, dtype=np.float32) for a in arrays]
    ts = [torchlite.tensor(a, device=device) for a in arrays32]
    out = fn(*ts)
    expected = np_fn(*arrays32)
    assert out.dtype == torchlite.float32, out.dtype
    assert tuple(out.shape) == np.shape(expected)
    np.testing.assert_allclose(to_np(out), expected, rtol=rtol, atol=atol)


def to_np(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def grads_of(fn, *arrays, dtype=torchlite.float32):
    """Run fn on leaves made from arrays, backward from sum(out * weights); return out, grads."""
    ts = [leaf(a, dtype=dtype) for a in arrays]
    out = fn(*ts)
    w = torchlite.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)), dtype=dtype)
    (out * w).sum().backward()
    return out, [t.grad for t in ts]
