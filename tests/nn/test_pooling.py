"""Max/avg/adaptive pooling: loop references, indices, tie routing, gradchecks, parity."""

import numpy as np
import pytest
from _nn_checks import npy, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.autograd import gradcheck


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def distinct(shape, seed=0):
    """Values with no ties (max pooling is not differentiable at ties)."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) / n + 0.01 * rnd(shape, seed)


def out_len(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def ref_max_pool2d(x, k, s, p, d, ceil):
    """Returns (values, flat indices) scanning each window in row-major order (first max wins)."""
    N, C, H, W = x.shape
    Ho, Wo = (out_len(n, k[i], s[i], p[i], d[i], ceil) for i, n in enumerate((H, W)))
    out = np.zeros((N, C, Ho, Wo))
    idx = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, arg = -np.inf, -1
                    for a in range(k[0]):
                        for b in range(k[1]):
                            h, w = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                            if 0 <= h < H and 0 <= w < W and x[n, c, h, w] > best:
                                best, arg = x[n, c, h, w], h * W + w
                    out[n, c, i, j], idx[n, c, i, j] = best, arg
    return out, idx


def ref_avg_pool2d(x, k, s, p, ceil, count_include_pad, divisor_override=None):
    N, C, H, W = x.shape
    Ho, Wo = (out_len(n, k[i], s[i], p[i], 1, ceil) for i, n in enumerate((H, W)))
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            area = (h1 - h0) * (w1 - w0)  # counts padding, not what lies beyond it
            hs, ws, he, we = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            total = x[:, :, hs:he, ws:we].sum(axis=(2, 3))
            div = divisor_override or (area if count_include_pad else (he - hs) * (we - ws))
            out[:, :, i, j] = total / div
    return out


MAX_CASES = [  # kernel, stride, padding, dilation, ceil_mode
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), False),
    ((3, 2), (2, 1), (1, 1), (2, 1), True),
    ((3, 3), (2, 2), (0, 0), (1, 1), True),
    ((2, 3), (3, 2), (1, 0), (1, 2), False),
]


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_matches_reference_with_indices(case):
    k, s, p, d, ceil = case
    x = rnd((2, 3, 9, 8))
    out, idx = F.max_pool2d(t32(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    ref, ref_idx = ref_max_pool2d(x.astype(np.float32).astype(np.float64), k, s, p, d, ceil)
    np.testing.assert_allclose(npy(out), ref, rtol=1e-6)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert idx.dtype == torchlite.int64 and not idx.requires_grad


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_gradcheck(case):
    k, s, p, d, ceil = case
    x = t64(distinct((1, 2, 7, 6)))
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil), [x])


def test_max_pool_ties_route_to_the_first_element():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 1.0  # two maxima in the first window
    xt = t32(x, requires_grad=True)
    out, idx = F.max_pool2d(xt, 2, return_indices=True)
    assert idx.numpy()[0, 0, 0, 0] == 1
    assert idx.numpy()[0, 0, 1, 1] == 10  # all-zero window: its first element
    out.sum().backward()
    g = xt.grad.numpy()[0, 0]
    assert g[0, 1] == 1 and g[1, 0] == 0 and g.sum() == 4


def test_max_pool_nan_propagates_and_takes_the_gradient():
    x = rnd((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # the window's last NaN wins, as in PyTorch
    xt = t32(x, requires_grad=True)
    out, idx = F.max_pool2d(xt, 2, return_indices=True)
    assert np.isnan(npy(out)[0, 0, 0, 0]) and not np.isnan(npy(out)[0, 0, 1:, 1:]).any()
    assert idx.numpy()[0, 0, 0, 0] == 4
    out.sum().backward()
    assert xt.grad.numpy()[0, 0, 1, 0] == 1 and xt.grad.numpy()[0, 0, 0, 1] == 0
    amax, aidx = F.adaptive_max_pool2d(t32(x), (2, 2), return_indices=True)
    assert np.isnan(npy(amax)[0, 0, 0, 0]) and aidx.numpy()[0, 0, 0, 0] == 4


def test_max_pool1d_and_unbatched():
    x = rnd((2, 3, 11))
    out, idx = F.max_pool1d(t32(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    ref, ref_idx = ref_max_pool2d(x[:, :, None].astype(np.float32).astype(np.float64), (1, 3),
                                  (1, 2), (0, 1), (1, 1), True)
    np.testing.assert_allclose(npy(out), ref[:, :, 0], rtol=1e-6)
    np.testing.assert_array_equal(idx.numpy(), ref_idx[:, :, 0])
    assert tuple(nn.MaxPool2d(2)(t32(rnd((3, 6, 6)))).shape) == (3, 3, 3)
    assert gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1), [t64(distinct((1, 2, 9)))])


AVG_CASES = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    ((2, 2), (2, 2), (0, 0), False, True, None),
    ((3, 3), (2, 2), (1, 1), False, True, None),
    ((3, 3), (2, 2), (1, 1), False, False, None),
    ((3, 2), (2, 3), (1, 1), True, True, None),
    ((3, 2), (2, 3), (1, 1), True, False, None),
    ((2, 3), (1, 2), (1, 0), True, True, 4),
]


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_matches_reference_and_gradcheck(case):
    k, s, p, ceil, cip, div = case
    x = rnd((2, 3, 8, 9))
    out = F.avg_pool2d(t32(x), k, s, p, ceil, cip, div)
    np.testing.assert_allclose(npy(out), ref_avg_pool2d(x, k, s, p, ceil, cip, div), rtol=1e-5,
                               atol=1e-6)
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip, div), [t64(x[:1, :1, :6])])


def test_avg_pool1d():
    x = rnd((2, 3, 10))
    out = F.avg_pool1d(t32(x), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    ref = ref_avg_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), True, False)[:, :, 0]
    np.testing.assert_allclose(npy(out), ref, rtol=1e-5, atol=1e-6)


def ref_adaptive(x, out_size, reduce):
    H, W = x.shape[-2:]
    Ho, Wo = out_size
    out = np.zeros(x.shape[:-2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            h0, h1 = (i * H) // Ho, -(-((i + 1) * H) // Ho)
            w0, w1 = (j * W) // Wo, -(-((j + 1) * W) // Wo)
            out[..., i, j] = reduce(x[..., h0:h1, w0:w1], axis=(-2, -1))
    return out


@pytest.mark.parametrize("size", [(3, 4), (1, 1), (5, 7), (4, 2)])
def test_adaptive_pools_match_reference(size):
    x = rnd((2, 3, 10, 7))
    np.testing.assert_allclose(npy(F.adaptive_avg_pool2d(t32(x), size)),
                               ref_adaptive(x, size, np.mean), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(F.adaptive_max_pool2d(t32(x), size)),
                               ref_adaptive(x, size, np.max), rtol=1e-6)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), [t64(x[:1, :1])])
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, size), [t64(distinct((1, 1, 10, 7)))])


def test_adaptive_1d_none_size_and_modules():
    x = rnd((2, 3, 10))
    np.testing.assert_allclose(npy(F.adaptive_avg_pool1d(t32(x), 4)),
                               ref_adaptive(x[:, :, None], (1, 4), np.mean)[:, :, 0], rtol=1e-5)
    out, idx = F.adaptive_max_pool1d(t32(x), 3, return_indices=True)
    np.testing.assert_allclose(npy(out), ref_adaptive(x[:, :, None], (1, 3), np.max)[:, :, 0],
                               rtol=1e-6)
    assert tuple(idx.shape) == (2, 3, 3)
    y = nn.AdaptiveAvgPool2d((None, 2))(t32(rnd((2, 3, 5, 6))))
    assert tuple(y.shape) == (2, 3, 5, 2)
    assert tuple(nn.AdaptiveMaxPool2d(1)(t32(rnd((3, 5, 6)))).shape) == (3, 1, 1)
    assert list(nn.MaxPool2d(2).state_dict()) == []


def test_pool_argument_errors():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(t32(rnd((1, 1, 5, 5))), 2, padding=2)
    with pytest.raises(RuntimeError):
        F.max_pool2d(t32(rnd((1, 1, 2, 2))), 3)
    with pytest.raises(RuntimeError):
        F.avg_pool2d(t32(rnd((1, 5, 5))[0]), 2)


# ----------------------------------------------------------------------------------------------
# parity with PyTorch


def _parity(fn, tfn, x, torch, n_out=1):
    ours = t32(x, requires_grad=True)
    theirs = torch.tensor(x.astype(np.float32), requires_grad=True)
    y, ty = fn(ours), tfn(theirs)
    if n_out == 2:
        np.testing.assert_array_equal(y[1].numpy(), ty[1].numpy())
        y, ty = y[0], ty[0]
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rnd(tuple(ty.shape), 3).astype(np.float32)
    y.backward(t32(g))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_parity(case):
    torch = pytest.importorskip("torch")
    k, s, p, d, ceil = case
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil, return_indices=True)
    x = np.round(rnd((2, 3, 9, 8)) * 2)  # many ties
    _parity(nn.MaxPool2d(**kw), torch.nn.MaxPool2d(**kw), x, torch, n_out=2)


@pytest.mark.parity
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_parity(case):
    torch = pytest.importorskip("torch")
    k, s, p, ceil, cip, div = case
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=cip,
              divisor_override=div)
    _parity(nn.AvgPool2d(**kw), torch.nn.AvgPool2d(**kw), rnd((2, 3, 9, 8)), torch)


@pytest.mark.parity
def test_adaptive_and_1d_pool_parity():
    torch = pytest.importorskip("torch")
    x = np.round(rnd((2, 3, 10, 7)) * 2)
    _parity(nn.AdaptiveAvgPool2d((3, 4)), torch.nn.AdaptiveAvgPool2d((3, 4)), x, torch)
    _parity(nn.AdaptiveMaxPool2d((3, 4), True), torch.nn.AdaptiveMaxPool2d((3, 4), True), x,
            torch, n_out=2)
    x1 = np.round(rnd((2, 3, 11)) * 2)
    _parity(nn.MaxPool1d(3, 2, 1, return_indices=True),
            torch.nn.MaxPool1d(3, 2, 1, return_indices=True), x1, torch, n_out=2)
    _parity(nn.AvgPool1d(3, 2, 1, count_include_pad=False),
            torch.nn.AvgPool1d(3, 2, 1, count_include_pad=False), x1, torch)
    _parity(nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), x1, torch)
    _parity(nn.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4), x1, torch)


def test_pools_on_device(device):
    x = distinct((2, 3, 9, 8))
    for fn in (lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 2, ceil_mode=True),
               lambda t: F.adaptive_avg_pool2d(t, (4, 3)),
               lambda t: F.adaptive_max_pool2d(t, (4, 3))):
        ref = fn(t32(x))
        xd = t32(x).to(device).requires_grad_()
        y = fn(xd)
        assert y.device.type == device
        np.testing.assert_allclose(y.detach().cpu().numpy(), npy(ref), rtol=1e-5, atol=1e-6)
        y.sum().backward()
        assert xd.grad.device.type == device
