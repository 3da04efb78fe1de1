import math

import numpy as np
import pytest

import torchlite
from torchlite.nn import Parameter
from torchlite.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm


def _params(grads):
    ps = []
    for g in grads:
        p = Parameter(torchlite.zeros(*np.shape(g)))
        p.grad = None if g is None else torchlite.tensor(np.asarray(g, dtype=np.float32))
        ps.append(p)
    return ps


G = [np.array([3.0, -4.0]), np.array([[1.0, 2.0], [-2.0, 0.0]]), None]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_scales_to_max_and_returns_total(norm_type):
    ps = _params(G)
    flat = np.concatenate([g.ravel() for g in G if g is not None])
    total = (np.abs(flat).max() if norm_type == math.inf
             else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type))
    out = clip_grad_norm_(ps, max_norm=1.0, norm_type=norm_type)
    assert isinstance(out, torchlite.Tensor) and out.dim() == 0 and out.dtype == torchlite.float32
    np.testing.assert_allclose(float(out), total, rtol=1e-6)
    coef = 1.0 / (total + 1e-6)
    for p, g in zip(ps, G):
        if g is not None:
            np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-5)
            assert p.grad.dtype == torchlite.float32
    assert ps[2].grad is None


def test_no_clipping_below_max_and_single_tensor():
    ps = _params([np.array([0.3, 0.4])])
    clip_grad_norm_(ps[0], 10.0)
    np.testing.assert_allclose(ps[0].grad.numpy(), [0.3, 0.4], rtol=1e-6)
    assert float(clip_grad_norm_([], 1.0)) == 0.0


def test_nonfinite_norm():
    ps = _params([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert math.isinf(float(clip_grad_norm_(ps, 1.0)))


def test_clip_grad_value_and_total_norm():
    ps = _params(G)
    clip_grad_value_(ps, 1.5)
    np.testing.assert_array_equal(ps[0].grad.numpy(), [1.5, -1.5])
    np.testing.assert_array_equal(ps[1].grad.numpy(), [[1.0, 1.5], [-1.5, 0.0]])
    n = get_total_norm([torchlite.tensor([3.0, 4.0]), torchlite.tensor([12.0])])
    assert float(n) == 13.0


@pytest.mark.parity
def test_clip_grad_norm_parity():
    torch = pytest.importorskip("torch")
    for norm_type in (2.0, 0.5, math.inf):
        ps = _params(G)
        tps = [torch.nn.Parameter(torch.zeros(np.shape(g))) for g in G]
        for tp, g in zip(tps, G):
            tp.grad = None if g is None else torch.tensor(np.asarray(g, dtype=np.float32))
        a = clip_grad_norm_(ps, 0.7, norm_type)
        b = torch.nn.utils.clip_grad_norm_(tps, 0.7, norm_type)
        np.testing.assert_allclose(float(a), float(b), rtol=1e-6)
        for p, tp in zip(ps, tps):
            if p.grad is not None:
                np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6)
