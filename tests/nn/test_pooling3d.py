"""3-D pooling, LP pooling and max_unpool: loop references, indices, gradchecks, parity."""

import numpy as np
import pytest
from _nn_checks import check_fn_grads, npy, rnd, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def ref_pool3d(x, k, s, p, reduce, fill):
    xp_ = np.pad(x, ((0, 0), (0, 0)) + tuple((q, q) for q in p), constant_values=fill)
    sizes = [(n + 2 * q - ki) // si + 1 for n, q, ki, si in zip(x.shape[2:], p, k, s)]
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for i in np.ndindex(*sizes):
        sl = tuple(slice(ii * si, ii * si + ki) for ii, si, ki in zip(i, s, k))
        out[(slice(None), slice(None)) + i] = reduce(xp_[(slice(None), slice(None)) + sl],
                                                     axis=(2, 3, 4))
    return out


def test_max_and_avg_pool3d_match_loops():
    x = rnd((2, 3, 5, 6, 7), 0)
    k, s, p = (2, 3, 2), (1, 2, 2), (1, 1, 0)
    np.testing.assert_allclose(npy(F.max_pool3d(t64(x, False), k, s, p)),
                               ref_pool3d(x, k, s, p, np.max, -np.inf))
    np.testing.assert_allclose(npy(F.avg_pool3d(t64(x, False), k, s, p)),
                               ref_pool3d(x, k, s, p, np.mean, 0.0), atol=1e-12)


def test_max_pool3d_indices_point_at_the_maxima():
    x = rnd((2, 3, 4, 6, 5), 1)
    out, idx = F.max_pool3d(t64(x, False), 2, 2, return_indices=True)
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, npy(idx).reshape(2, 3, -1), 2),
                                  npy(out).reshape(2, 3, -1))
    back = F.max_unpool3d(out, idx, 2, output_size=x.shape[2:])
    assert tuple(back.shape) == x.shape and np.count_nonzero(npy(back)) == out.numel()


def test_gradchecks():
    x = t64(rnd((1, 2, 4, 5, 4), 2))
    check_fn_grads(lambda t: F.max_pool3d(t, (2, 3, 2), (2, 1, 2), (1, 1, 0), ceil_mode=True),
                   x)
    check_fn_grads(lambda t: F.max_pool3d(t, 2, 1, dilation=(1, 2, 1)), x)
    check_fn_grads(lambda t: F.avg_pool3d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                   x)
    check_fn_grads(lambda t: F.adaptive_avg_pool3d(t, (3, 2, 3)), x)
    check_fn_grads(lambda t: F.adaptive_max_pool3d(t, (3, 2, 3)), x)
    check_fn_grads(lambda t: F.lp_pool3d(t * t + 0.5, 2.0, 2), x)
    i = F.max_pool2d(t64(rnd((1, 2, 4, 4), 3), False), 2, return_indices=True)[1]
    check_fn_grads(lambda t: F.max_unpool2d(t, i, 2), t64(rnd((1, 2, 2, 2), 4)))


def test_modules():
    x = torchlite.randn(2, 3, 4, 6, 6)
    assert tuple(nn.MaxPool3d(2)(x).shape) == (2, 3, 2, 3, 3)
    assert tuple(nn.AvgPool3d(3, 1, 1)(x).shape) == (2, 3, 4, 6, 6)
    assert tuple(nn.AdaptiveAvgPool3d((1, None, 2))(x).shape) == (2, 3, 1, 6, 2)
    v, i = nn.AdaptiveMaxPool3d(2, return_indices=True)(x)
    assert tuple(v.shape) == tuple(i.shape) == (2, 3, 2, 2, 2)
    assert tuple(nn.LPPool1d(2, 3)(torchlite.rand(2, 3, 9)).shape) == (2, 3, 3)
    assert tuple(nn.LPPool2d(1, 2)(torchlite.rand(2, 3, 4, 4)).shape) == (2, 3, 2, 2)
    assert tuple(nn.LPPool3d(3, 2)(torchlite.rand(2, 3, 4, 4, 4)).shape) == (2, 3, 2, 2, 2)
    o, idx = nn.MaxPool1d(2, return_indices=True)(torchlite.randn(1, 2, 8))
    assert tuple(nn.MaxUnpool1d(2)(o, idx).shape) == (1, 2, 8)
    o, idx = nn.MaxPool3d(2, return_indices=True)(x)
    assert tuple(nn.MaxUnpool3d(2)(o, idx).shape) == tuple(x.shape)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool1d(o.reshape(1, 1, -1), idx.reshape(1, 1, -1) + 1000, 2)


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    a = np.round(rnd((2, 3, 7, 6, 5), 5) * 4) / 4  # ties on purpose
    w = rnd((2, 3, 8, 8, 8), 6)
    calls = [
        ("max_pool3d", dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), padding=(1, 1, 0),
                            ceil_mode=True)),
        ("max_pool3d", dict(kernel_size=2, dilation=2)),
        ("avg_pool3d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                            count_include_pad=False)),
        ("avg_pool3d", dict(kernel_size=(2, 3, 2), divisor_override=5)),
        ("adaptive_avg_pool3d", dict(output_size=(4, 3, 2))),
        ("adaptive_max_pool3d", dict(output_size=(4, 3, 2))),
        ("lp_pool3d", dict(norm_type=2.0, kernel_size=2)),
    ]
    for name, kw in calls:
        mine = t64(np.abs(a) if name == "lp_pool3d" else a)
        ref = torch.tensor(np.abs(a) if name == "lp_pool3d" else a, requires_grad=True)
        o, r = getattr(F, name)(mine, **kw), getattr(tf, name)(ref, **kw)
        np.testing.assert_allclose(npy(o), r.detach().numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
        (o * torchlite.tensor(w[tuple(slice(0, n) for n in o.shape)])).sum().backward()
        (r * torch.tensor(w[tuple(slice(0, n) for n in r.shape)])).sum().backward()
        np.testing.assert_allclose(npy(mine.grad), ref.grad.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    o, i = F.max_pool3d(t64(a, False), 2, return_indices=True)
    r, j = tf.max_pool3d(torch.tensor(a), 2, return_indices=True)
    np.testing.assert_array_equal(npy(i), j.numpy())
    np.testing.assert_array_equal(npy(F.max_unpool3d(o, i, 2, output_size=a.shape[2:])),
                                  tf.max_unpool3d(r, j, 2, output_size=a.shape[2:]).numpy())
    o, i = F.adaptive_max_pool3d(t64(a, False), (3, 4, 2), return_indices=True)
    r, j = tf.adaptive_max_pool3d(torch.tensor(a), (3, 4, 2), return_indices=True)
    np.testing.assert_array_equal(npy(i), j.numpy())


def test_gradgradcheck():
    x = t64(rnd((1, 1, 4, 4, 4), 9))
    for fn in (lambda t: F.max_pool3d(t, 2) ** 2, lambda t: F.avg_pool3d(t, 2, 1) ** 2,
               lambda t: F.adaptive_max_pool3d(t, (2, 1, 2)) ** 2,
               lambda t: F.adaptive_avg_pool3d(t, (3, 2, 3)) ** 2):
        assert torchlite.autograd.gradgradcheck(fn, [x])


def test_with_indices_forms():
    x = torchlite.randn(2, 3, 4, 6, 6)
    for nd in (1, 2, 3):
        xx = x[(0,) * (3 - nd)] if nd < 3 else x
        v, i = getattr(F, f"max_pool{nd}d_with_indices")(xx, 2)
        w, j = getattr(F, f"max_pool{nd}d")(xx, 2, return_indices=True)
        assert torchlite.equal(v, w) and torchlite.equal(i, j)
        v, i = getattr(F, f"adaptive_max_pool{nd}d_with_indices")(xx, 2)
        assert torchlite.equal(i, getattr(F, f"adaptive_max_pool{nd}d")(xx, 2, True)[1])
