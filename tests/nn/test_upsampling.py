"""F.interpolate / Upsample (nearest, nearest-exact, linear, bilinear, area), PixelShuffle."""

import math

import numpy as np
import pytest
from _nn_checks import npy, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.autograd import gradcheck
from torchlite.nn.functional.upsampling import _linear_matrix


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def src_nearest(o, n_in, n_out, scale, exact):
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    pos = np.float32(o + 0.5) if exact else np.float32(o)
    return min(int(math.floor(pos * s)), n_in - 1)


def ref_nearest(x, size, scales, exact=False):
    Ho, Wo = size
    H, W = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[..., i, j] = x[..., src_nearest(i, H, Ho, scales[0], exact),
                               src_nearest(j, W, Wo, scales[1], exact)]
    return out


def src_linear(o, n_in, n_out, scale, align):
    """(i0, i1, weight of i1) for output index o, following PyTorch's formulas."""
    if align:
        src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = 1.0 / scale if scale else n_in / n_out
        src = max(s * (o + 0.5) - 0.5, 0.0)
    i0 = min(int(math.floor(src)), n_in - 1)
    return i0, min(i0 + 1, n_in - 1), src - i0


def ref_bilinear(x, size, scales, align):
    Ho, Wo = size
    H, W = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (Ho, Wo))
    for i in range(Ho):
        h0, h1, lh = src_linear(i, H, Ho, scales[0], align)
        for j in range(Wo):
            w0, w1, lw = src_linear(j, W, Wo, scales[1], align)
            out[..., i, j] = ((1 - lh) * ((1 - lw) * x[..., h0, w0] + lw * x[..., h0, w1])
                              + lh * ((1 - lw) * x[..., h1, w0] + lw * x[..., h1, w1]))
    return out


@pytest.mark.parametrize("kw,size,scales", [
    (dict(scale_factor=2), (10, 14), (2.0, 2.0)),
    (dict(size=(3, 11)), (3, 11), (None, None)),
    (dict(scale_factor=(1.7, 0.6)), (8, 4), (1.7, 0.6)),
    (dict(scale_factor=1.7, recompute_scale_factor=True), (8, 11), (None, None)),
])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_matches_reference(kw, size, scales, mode):
    x = rnd((2, 3, 5, 7))
    out = F.interpolate(t32(x), mode=mode, **kw)
    expected = ref_nearest(x, size, scales, exact=mode == "nearest-exact")
    np.testing.assert_allclose(npy(out), expected, rtol=1e-6)
    assert gradcheck(lambda x: F.interpolate(x, mode=mode, **kw), [t64(x[:1, :1])])


@pytest.mark.parametrize("kw,size,scales", [
    (dict(scale_factor=2), (10, 14), (2.0, 2.0)),
    (dict(size=(3, 11)), (3, 11), (None, None)),
    (dict(scale_factor=(1.7, 0.6)), (8, 4), (1.7, 0.6)),
    (dict(size=(1, 1)), (1, 1), (None, None)),
])
@pytest.mark.parametrize("align", [False, True])
def test_bilinear_matches_reference(kw, size, scales, align):
    x = rnd((2, 3, 5, 7))
    out = F.interpolate(t32(x), mode="bilinear", align_corners=align, **kw)
    expected = ref_bilinear(x, size, (None, None) if align else scales, align)
    np.testing.assert_allclose(npy(out), expected, rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda x: F.interpolate(x, mode="bilinear", align_corners=align, **kw),
                     [t64(x[:1, :1])])


def test_linear_1d_area_and_modules():
    x = rnd((2, 3, 6))
    out = F.interpolate(t32(x), size=9, mode="linear")
    expected = ref_bilinear(x[:, :, None], (1, 9), (None, None), False)[:, :, 0]
    np.testing.assert_allclose(npy(out), expected, rtol=1e-5, atol=1e-6)
    area = F.interpolate(t32(rnd((1, 2, 6, 4))), size=(3, 2), mode="area")
    np.testing.assert_allclose(npy(area), npy(F.adaptive_avg_pool2d(t32(rnd((1, 2, 6, 4))),
                                                                     (3, 2))), rtol=1e-6)
    up = nn.Upsample(scale_factor=2, mode="nearest")
    assert tuple(up(t32(rnd((1, 2, 3, 4)))).shape) == (1, 2, 6, 8)
    np.testing.assert_allclose(npy(nn.UpsamplingBilinear2d(size=(4, 5))(t32(x[:, :, None]
                                                                             .repeat(3, 2)))),
                               ref_bilinear(x[:, :, None].repeat(3, 2), (4, 5), (None, None),
                                            True), rtol=1e-5, atol=1e-6)
    assert tuple(nn.UpsamplingNearest2d(scale_factor=3)(t32(rnd((1, 1, 2, 2)))).shape) == \
        (1, 1, 6, 6)


def test_interpolate_errors():
    x = t32(rnd((1, 1, 4, 4)))
    with pytest.raises(ValueError):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError):
        F.interpolate(x, scale_factor=2, mode="bicubic")


def test_pixel_shuffle_roundtrip_and_layout():
    x = rnd((2, 12, 3, 4))
    y = F.pixel_shuffle(t32(x), 2)
    assert tuple(y.shape) == (2, 3, 6, 8)
    # out[n, c, h*r + i, w*r + j] = in[n, c*r*r + i*r + j, h, w]
    expected = x.reshape(2, 3, 2, 2, 3, 4).transpose(0, 1, 4, 2, 5, 3).reshape(2, 3, 6, 8)
    np.testing.assert_allclose(npy(y), expected, rtol=1e-6)
    np.testing.assert_allclose(npy(nn.PixelUnshuffle(2)(y)), x, rtol=1e-6)
    assert tuple(nn.PixelShuffle(3)(t32(rnd((9, 2, 2)))).shape) == (1, 6, 6)
    assert gradcheck(lambda x: F.pixel_shuffle(x, 2), [t64(rnd((1, 4, 2, 3)))])
    with pytest.raises(RuntimeError):
        F.pixel_shuffle(t32(rnd((1, 5, 2, 2))), 2)


@pytest.mark.parity
@pytest.mark.parametrize("kw", [
    dict(scale_factor=2, mode="nearest"),
    dict(size=(7, 3), mode="nearest-exact"),
    dict(scale_factor=(1.5, 2.5), mode="bilinear"),
    dict(size=(9, 4), mode="bilinear", align_corners=True),
    dict(size=(3, 2), mode="area"),
])
def test_interpolate_parity(kw):
    torch = pytest.importorskip("torch")
    x = rnd((2, 3, 5, 6)).astype(np.float32)
    ours, theirs = t32(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = F.interpolate(ours, **kw), torch.nn.functional.interpolate(theirs, **kw)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rnd(tuple(ty.shape), 1).astype(np.float32)
    y.backward(t32(g))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_interpolate_on_device(device):
    x = rnd((1, 2, 4, 5))
    for kw in (dict(scale_factor=2), dict(size=(3, 7), mode="bilinear")):
        ref = F.interpolate(t32(x), **kw)
        xd = t32(x).to(device).requires_grad_()
        y = F.interpolate(xd, **kw)
        assert y.device.type == device
        np.testing.assert_allclose(y.detach().cpu().numpy(), npy(ref), rtol=1e-5, atol=1e-6)
        y.sum().backward()
        assert xd.grad.device.type == device


# ----------------------------------------------------------------------------------------------
# 5-D input (nearest, trilinear, area) and uint8 bilinear


def test_trilinear_is_separable_linear_interpolation():
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 4, 5))
    out = F.interpolate(torchlite.tensor(x), size=(5, 6, 4), mode="trilinear")
    ref = x
    for axis, n in zip((2, 3, 4), (5, 6, 4)):
        ref = np.moveaxis(np.moveaxis(ref, axis, -1) @ _linear_matrix(ref.shape[axis], n, None,
                                                                       False).T, -1, axis)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    near = F.interpolate(torchlite.tensor(x), scale_factor=2)
    np.testing.assert_array_equal(near.numpy(), x.repeat(2, 2).repeat(2, 3).repeat(2, 4))
    area = F.interpolate(torchlite.tensor(x), size=(1, 2, 5), mode="area")
    np.testing.assert_allclose(area.numpy()[:, :, 0, 0, :], x[:, :, :, :2].mean(axis=(2, 3)))
    t = torchlite.tensor(x[:1, :1], requires_grad=True)
    assert gradcheck(lambda a: F.interpolate(a, scale_factor=1.5, mode="trilinear",
                                             align_corners=True), [t])


def test_uint8_bilinear_rounds_per_pass_as_pytorch():
    x = torchlite.tensor(np.arange(0, 250, 13)[:16].reshape(1, 1, 4, 4), dtype=torchlite.uint8)
    out = F.interpolate(x, size=(7, 5), mode="bilinear")
    assert out.dtype == torchlite.uint8
    assert out.numpy()[0, 0].tolist() == [
        [0, 9, 20, 30, 39], [19, 28, 39, 49, 58], [48, 57, 68, 78, 87], [78, 87, 98, 108, 117],
        [108, 117, 128, 138, 147], [137, 146, 157, 167, 176], [156, 165, 176, 186, 195]]
    with pytest.raises(RuntimeError, match="not implemented"):
        F.interpolate(torchlite.tensor(np.zeros((1, 1, 4)), dtype=torchlite.uint8), size=7,
                      mode="linear")


@pytest.mark.parity
def test_5d_and_uint8_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5, 6))
    for mode, kw in (("nearest", dict(size=(7, 3, 8))), ("trilinear", dict(scale_factor=1.5)),
                     ("trilinear", dict(size=(5, 5, 5), align_corners=True)),
                     ("area", dict(size=(2, 3, 4))), ("nearest-exact", dict(scale_factor=2))):
        np.testing.assert_allclose(
            F.interpolate(torchlite.tensor(x), mode=mode, **kw).numpy(),
            torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kw).numpy(),
            atol=1e-12, err_msg=mode)
    for c in (1, 3, 4):
        for size, ac in (((7, 5), False), ((5, 13), True), ((16, 9), False)):
            u = rng.integers(0, 256, (2, c, 9, 6)).astype(np.uint8)
            np.testing.assert_array_equal(
                F.interpolate(torchlite.tensor(u), size=size, mode="bilinear",
                              align_corners=ac).numpy(),
                torch.nn.functional.interpolate(torch.tensor(u), size=size, mode="bilinear",
                                                align_corners=ac).numpy())


def test_channel_shuffle():
    x = np.arange(2 * 6 * 2.0).reshape(2, 6, 2)
    out = F.channel_shuffle(torchlite.tensor(x), 3).numpy()
    np.testing.assert_array_equal(out[0, :, 0], x[0, [0, 2, 4, 1, 3, 5], 0])
    np.testing.assert_array_equal(nn.ChannelShuffle(3)(torchlite.tensor(x)).numpy(), out)
    with pytest.raises(RuntimeError, match="divisible"):
        F.channel_shuffle(torchlite.tensor(x), 4)
    assert gradcheck(lambda t: F.channel_shuffle(t, 2), [t64(x[:1])])
