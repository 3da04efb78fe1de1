"""softmax / log_softmax at the top level and as Tensor methods (torchlite/ops/softmax.py)."""

import warnings

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, to_np

import torchlite
import torchlite.nn.functional as F


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_forward_matches_numpy(dim, device):
    a = data((3, 4, 5), 1, -4, 4)
    check_forward(lambda x: torchlite.softmax(x, dim), lambda x: _np_softmax(x, dim), a,
                  device=device)
    check_forward(lambda x: x.softmax(dim), lambda x: _np_softmax(x, dim), a, device=device)
    check_forward(lambda x: torchlite.log_softmax(x, dim=dim),
                  lambda x: np.log(_np_softmax(x.astype(np.float64), dim)), a, device=device)
    check_forward(lambda x: x.log_softmax(dim),
                  lambda x: np.log(_np_softmax(x.astype(np.float64), dim)), a, device=device)


@pytest.mark.parametrize("dim", [0, 2])
def test_gradcheck(dim):
    w = data((2, 3, 4), 5)  # a weighted sum, since softmax's plain sum has zero gradient
    check_grad(lambda x: torchlite.softmax(x, dim) * torchlite.tensor(w), data((2, 3, 4), 2))
    check_grad(lambda x: x.log_softmax(dim) * torchlite.tensor(w), data((2, 3, 4), 3))


def test_same_as_nn_functional_and_dtype_argument():
    x = torchlite.tensor(data((2, 5), 4), dtype=torchlite.float32)
    np.testing.assert_array_equal(to_np(torchlite.softmax(x, 1)), to_np(F.softmax(x, dim=1)))
    np.testing.assert_array_equal(to_np(x.log_softmax(0)), to_np(F.log_softmax(x, 0)))
    y = torchlite.softmax(x, 1, torchlite.float64)
    assert y.dtype == torchlite.float64
    assert x.softmax(1, dtype=torchlite.float64).dtype == torchlite.float64
    assert torchlite.log_softmax(torchlite.tensor([1, 2]), 0, dtype=torchlite.float32).dtype == \
        torchlite.float32
    np.testing.assert_allclose(to_np(y).sum(1), [1.0, 1.0])
    assert torchlite.softmax(torchlite.tensor(3.0), 0).item() == 1.0  # 0-d: one element


def test_huge_logits_stay_finite_and_inf_gives_nan_quietly():
    x = torchlite.tensor([[1e4, -1e4, 0.0]])
    np.testing.assert_allclose(to_np(x.softmax(1)), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(to_np(x.log_softmax(1)), [[0.0, -2e4, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarning: NaN is the answer here
        assert np.isnan(to_np(torchlite.tensor([[np.inf, 1.0]]).softmax(1))).all()
        assert np.isnan(to_np(torchlite.tensor([[np.inf, 1.0]]).log_softmax(1))[0, 0])


def test_errors():
    x = torchlite.ones(2, 3)
    with pytest.raises(TypeError):
        torchlite.softmax(x)  # the dim is required, as torch.softmax
    with pytest.raises(TypeError):
        x.log_softmax()
    with pytest.raises(IndexError, match="softmax.*Dimension out of range"):
        x.softmax(2)
    with pytest.raises(RuntimeError, match="floating-point"):
        torchlite.tensor([1, 2]).softmax(0)
    with pytest.raises(TypeError, match="must be Tensor"):
        torchlite.softmax([1.0, 2.0], 0)


@pytest.mark.parity
def test_parity():
    torch = pytest.importorskip("torch")
    a = data((3, 4), 6).astype(np.float32)
    w = data((3, 4), 7).astype(np.float32)
    for name in ("softmax", "log_softmax"):
        x = torchlite.tensor(a, requires_grad=True)
        y = torch.tensor(a, requires_grad=True)
        out, ref = getattr(x, name)(1), getattr(torch, name)(y, 1)
        np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=1e-6, atol=1e-7)
        (out * torchlite.tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(to_np(x.grad), y.grad.numpy(), rtol=1e-5, atol=1e-6)
