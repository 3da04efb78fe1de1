"""Tensor.unfold: windows as PyTorch's, a view of the input, gradient back to each position."""

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite


@pytest.mark.parametrize("shape,dim,size,step", [((7,), 0, 3, 1), ((7,), 0, 3, 2),
                                                 ((2, 9, 3), 1, 4, 3), ((4, 5), -1, 5, 1),
                                                 ((4, 5), 0, 1, 2), ((3, 8), 1, 2, 5)])
def test_unfold_matches_sliding_windows_and_gradchecks(shape, dim, size, step):
    a = data(shape, 0)
    out = torchlite.tensor(a).unfold(dim, size, step)
    ref = np.moveaxis(np.lib.stride_tricks.sliding_window_view(a, size, axis=dim), dim, dim)
    ref = np.take(ref, np.arange(0, ref.shape[dim], step), axis=dim)
    np.testing.assert_array_equal(to_np(out), ref)
    check_grad(lambda t: t.unfold(dim, size, step), a)


def test_unfold_is_a_view_and_checks_its_arguments():
    t = torchlite.arange(6.0)
    w = t.unfold(0, 2, 2)
    t[0] = 10.0
    assert w[0, 0].item() == 10.0
    assert torchlite.tensor(5.0).unfold(0, 1, 1).tolist() == [5.0]
    with pytest.raises(RuntimeError, match="maximum size"):
        t.unfold(0, 7, 1)
    with pytest.raises(RuntimeError, match="step"):
        t.unfold(0, 2, 0)
    with pytest.raises(IndexError):
        t.unfold(1, 2, 1)


def test_view_dtype_reinterprets_bits():
    x = torchlite.ones(2)
    assert x.view(torchlite.int32).tolist() == [1065353216, 1065353216]
    h = torchlite.ones(2, 4).view(torchlite.float16)
    assert h.shape == (2, 8) and h.dtype == torchlite.float16
    assert torchlite.ones(2, 4, dtype=torchlite.int16).view(torchlite.int64).shape == (2, 1)
    assert torchlite.tensor([1, 0], dtype=torchlite.uint8).view(torchlite.bool).tolist() \
        == [True, False]
    with pytest.raises(RuntimeError, match="divisible"):
        torchlite.ones(2, 3).view(torchlite.float64)
    with pytest.raises(RuntimeError, match="stride"):
        torchlite.ones(2, 3).t().view(torchlite.int16)
    with pytest.raises(RuntimeError, match="dim"):
        torchlite.tensor(1.0).view(torchlite.int16)
    y = torchlite.zeros(2)
    v = y.view(torchlite.int32)
    v[0] = 1065353216
    assert y[0].item() == 1.0  # shares memory


def test_linspace_refuses_bool():
    with pytest.raises(RuntimeError, match="Bool"):
        torchlite.linspace(0, 1, 5, dtype=torchlite.bool)


@pytest.mark.parity
def test_unfold_and_view_dtype_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    a = data((3, 10, 4), 1)
    w = data((3, 3, 4, 4), 2)
    for dim, size, step in ((1, 4, 3), (1, 3, 1), (2, 2, 2), (0, 2, 1)):
        t, e = torchlite.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        o, p = t.unfold(dim, size, step), e.unfold(dim, size, step)
        np.testing.assert_array_equal(to_np(o), p.detach().numpy())
        (o * torchlite.tensor(np.resize(w, o.shape))).sum().backward()
        (p * torch.tensor(np.resize(w, tuple(p.shape)))).sum().backward()
        np.testing.assert_allclose(to_np(t.grad), e.grad.numpy(), rtol=1e-12)
    b = data((2, 4), 3).astype(np.float32)
    for dt in ("int32", "int16", "float16", "uint8", "int64"):
        got = torchlite.tensor(b).view(getattr(torchlite, dt))
        exp = torch.tensor(b).view(getattr(torch, dt))
        np.testing.assert_array_equal(to_np(got), exp.numpy())


def test_unfold_gradgradcheck():
    t = torchlite.tensor(data((2, 7), 2), requires_grad=True)
    assert torchlite.autograd.gradgradcheck(lambda a: a.unfold(1, 3, 2) ** 2, [t])
