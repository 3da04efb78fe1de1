"""gumbel_softmax (soft samples, the straight-through hard ones, the noise's statistics) and
local_response_norm / LocalResponseNorm (the definition in NumPy, gradcheck, PyTorch parity)."""

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite
import torchlite.nn.functional as F
from torchlite import nn

T = torchlite.tensor


def test_gumbel_softmax_samples_the_categorical_and_passes_soft_gradients():
    torchlite.manual_seed(0)
    logits = T(np.log([[0.2, 0.5, 0.3]]), dtype=torchlite.float64)
    samples = F.gumbel_softmax(logits.expand(20000, 3), tau=0.1, hard=True)
    assert set(np.unique(to_np(samples))) == {0.0, 1.0}
    np.testing.assert_allclose(to_np(samples.mean(0)), [0.2, 0.5, 0.3], atol=0.012)
    soft = F.gumbel_softmax(logits, tau=2.0)
    np.testing.assert_allclose(to_np(soft.sum(-1)), [1.0])
    leaf = T([[0.1, 0.2, 0.3]], requires_grad=True)
    hard = F.gumbel_softmax(leaf, hard=True)
    (hard * T([[1.0, 2.0, 3.0]])).sum().backward()
    assert leaf.grad is not None and np.abs(to_np(leaf.grad)).sum() > 0  # the soft sample's


def lrn_reference(x, size, alpha, beta, k):
    c = x.shape[1]
    sq = x ** 2
    out = np.empty_like(x)
    for i in range(c):
        lo, hi = max(0, i - size // 2), min(c, i + (size - 1) // 2 + 1)
        out[:, i] = x[:, i] / (k + alpha * sq[:, lo:hi].sum(1) / size) ** beta
    return out


def test_local_response_norm_matches_its_definition():
    x = np.random.default_rng(0).standard_normal((2, 5, 3, 2))
    for size in (1, 2, 3, 4):
        np.testing.assert_allclose(to_np(F.local_response_norm(T(x), size, 0.1, 0.75, 2.0)),
                                   lrn_reference(x, size, 0.1, 0.75, 2.0), rtol=1e-12)
    np.testing.assert_allclose(to_np(nn.LocalResponseNorm(3)(T(x[..., 0]))),
                               lrn_reference(x[..., 0], 3, 1e-4, 0.75, 1.0), rtol=1e-12)
    check_grad(lambda t: F.local_response_norm(t, 3, alpha=0.5, k=1.5), x)
    with pytest.raises(ValueError, match="Expected 3D or higher"):
        F.local_response_norm(T(x[0, :, 0]), 2)


@pytest.mark.parity
def test_local_response_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 6, 4, 3, 2))
    out = []
    for lib in (torchlite, torch):
        X = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.local_response_norm(X, 4, alpha=0.2, beta=0.6, k=1.2)
        (y * y).sum().backward()
        out.append((y.detach().numpy(), X.grad.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10, atol=1e-12)
