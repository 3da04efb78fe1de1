"""Conv1d/Conv2d/ConvTranspose1d/2d and F.conv*: loop references, gradchecks, layouts, parity."""

import math

import numpy as np
import pytest
from _nn_checks import npy, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.autograd import gradcheck


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------------------------
# slow, obviously right references (explicit loops, float64)


def ref_conv2d(x, w, b, stride, padding, dilation, groups):
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    N, C, H, W = x.shape
    O, cg, kh, kw = w.shape
    xp_ = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xp_[:, :, ph:ph + H, pw:pw + W] = x
    Ho = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = O // groups
    out = np.zeros((N, O, Ho, Wo))
    for n in range(N):
        for o in range(O):
            gi = o // og
            for i in range(Ho):
                for j in range(Wo):
                    acc = 0.0 if b is None else b[o]
                    for c in range(cg):
                        for a in range(kh):
                            for e in range(kw):
                                acc += (w[o, c, a, e]
                                        * xp_[n, gi * cg + c, i * sh + a * dh, j * sw + e * dw])
                    out[n, o, i, j] = acc
    return out


def ref_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    N, Cin, H, W = x.shape
    _, og, kh, kw = w.shape
    cg = Cin // groups
    Hf = (H - 1) * sh + dh * (kh - 1) + 1 + oh
    Wf = (W - 1) * sw + dw * (kw - 1) + 1 + ow
    full = np.zeros((N, og * groups, Hf, Wf))
    for n in range(N):
        for ci in range(Cin):
            g = ci // cg
            for i in range(H):
                for j in range(W):
                    for o in range(og):
                        for a in range(kh):
                            for e in range(kw):
                                full[n, g * og + o, i * sh + a * dh, j * sw + e * dw] += (
                                    x[n, ci, i, j] * w[ci, o, a, e])
    out = full[:, :, ph:Hf - ph, pw:Wf - pw]
    if b is not None:
        out = out + b[None, :, None, None]
    return out


CONV_CASES = [
    # (N, C, H, W, O, k, stride, padding, dilation, groups, bias)
    (2, 3, 7, 8, 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
    (2, 3, 7, 8, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (2, 4, 9, 7, 6, (3, 2), (2, 1), (1, 2), (2, 1), 2, True),
    (1, 4, 8, 9, 4, (3, 3), (2, 3), (1, 0), (1, 2), 4, False),  # depthwise
    (3, 2, 5, 5, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    (2, 6, 6, 7, 3, (2, 3), (3, 2), (0, 1), (1, 1), 3, True),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_matches_loop_reference(case):
    N, C, H, W, O, k, s, p, d, g, bias = case
    x, w, b = rnd((N, C, H, W)), rnd((O, C // g) + k, 1), rnd(O, 2)
    out = F.conv2d(t32(x), t32(w), t32(b) if bias else None, s, p, d, g)
    assert out.dtype == torchlite.float32
    expected = ref_conv2d(x, w, b if bias else None, s, p, d, g)
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[2], CONV_CASES[3], CONV_CASES[5]])
def test_conv2d_gradcheck(case):
    N, C, H, W, O, k, s, p, d, g, bias = case
    x, w, b = t64(rnd((1, C, H, W))), t64(rnd((O, C // g) + k, 1)), t64(rnd(O, 2))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b if bias else None, s, p, d, g), [x, w, b])


def test_stride_one_input_gradient_over_a_batch():
    # stride 1 folds the input gradient with the batch innermost: several samples, groups,
    # dilation and unequal padding must each land in their own sample and channel
    x, w, b = t64(rnd((3, 4, 6, 7))), t64(rnd((6, 2, 3, 2), 1)), t64(rnd(6, 2))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, 1, (2, 1), (1, 2), 2), [x, w, b])


def test_conv1d_forward_and_gradcheck():
    x, w, b = rnd((2, 4, 11)), rnd((6, 2, 3), 1), rnd(6, 2)
    out = F.conv1d(t32(x), t32(w), t32(b), stride=2, padding=1, dilation=2, groups=2)
    expected = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2, 2),
                     [t64(x[:1, :, :7]), t64(w), t64(b)])


@pytest.mark.parametrize("k,d", [(3, 1), (4, 1), (3, 2), (2, 3)])
def test_same_padding_keeps_size_and_pads_extra_on_the_right(k, d):
    x, w = rnd((1, 2, 6, 7)), rnd((3, 2, k, k), 1)
    out = F.conv2d(t32(x), t32(w), padding="same", dilation=d)
    assert tuple(out.shape) == (1, 3, 6, 7)
    total = d * (k - 1)
    lo, hi = total // 2, total - total // 2
    xpad = np.pad(x, ((0, 0), (0, 0), (lo, hi), (lo, hi)))
    expected = ref_conv2d(xpad, w, None, (1, 1), (0, 0), (d, d), 1)
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)
    valid = F.conv2d(t32(x), t32(w), padding="valid", dilation=d)
    np.testing.assert_allclose(npy(valid), ref_conv2d(x, w, None, (1, 1), (0, 0), (d, d), 1),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap")])
def test_conv2d_padding_modes(mode, np_mode):
    torchlite.manual_seed(0)
    m = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode)
    x = rnd((2, 2, 5, 6))
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode=np_mode)
    expected = ref_conv2d(xpad, npy(m.weight).astype(np.float64), npy(m.bias), (1, 1), (0, 0),
                          (1, 1), 1)
    np.testing.assert_allclose(npy(m(t32(x))), expected, rtol=1e-4, atol=1e-4)
    m.double()
    params = list(m.parameters())
    assert gradcheck(lambda x, *ps: m(x), [t64(x[:1, :, :4, :4]), *params])


TRANSPOSE_CASES = [
    # (N, Cin, H, W, Cout, k, stride, padding, output_padding, dilation, groups)
    (2, 3, 4, 5, 2, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1),
    (2, 4, 3, 4, 6, (3, 2), (2, 3), (1, 0), (1, 2), (1, 1), 2),
    (1, 4, 3, 3, 4, (2, 2), (2, 2), (0, 1), (1, 0), (2, 2), 4),
    (1, 2, 3, 4, 2, (2, 3), (2, 2), (0, 0), (2, 0), (3, 1), 1),  # output_padding >= stride
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose2d_forward_and_gradcheck(case):
    N, Cin, H, W, Cout, k, s, p, op, d, g = case
    x, w, b = rnd((N, Cin, H, W)), rnd((Cin, Cout // g) + k, 1), rnd(Cout, 2)
    out = F.conv_transpose2d(t32(x), t32(w), t32(b), s, p, op, g, d)
    expected = ref_conv_transpose2d(x, w, b, s, p, op, d, g)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, g, d),
                     [t64(x[:1]), t64(w), t64(b)])


def test_conv_transpose1d_and_module_output_size():
    x, w = rnd((2, 4, 5)), rnd((4, 3, 3), 1)
    out = F.conv_transpose1d(t32(x), t32(w), stride=2, padding=1, output_padding=1)
    expected = ref_conv_transpose2d(x[:, :, None], w[:, :, None], None, (1, 2), (0, 1), (0, 1),
                                    (1, 1), 1)[:, :, 0]
    np.testing.assert_allclose(npy(out), expected, rtol=1e-4, atol=1e-4)
    m = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    y = m(t32(rnd((1, 3, 4, 4))), output_size=(8, 8))
    assert tuple(y.shape) == (1, 2, 8, 8)
    assert tuple(m(t32(rnd((1, 3, 4, 4)))).shape) == (1, 2, 7, 7)
    with pytest.raises(ValueError):
        m(t32(rnd((1, 3, 4, 4))), output_size=(10, 10))


def test_unbatched_input():
    m = nn.Conv2d(2, 3, 3, padding=1)
    x = rnd((2, 5, 5))
    single = m(t32(x))
    batched = m(t32(x[None]))
    assert tuple(single.shape) == (3, 5, 5)
    np.testing.assert_allclose(npy(single), npy(batched)[0], rtol=1e-6)
    assert tuple(nn.Conv1d(2, 3, 3)(t32(rnd((2, 7)))).shape) == (3, 5)


def test_state_dict_layout_and_init_bounds():
    torchlite.manual_seed(0)
    conv = nn.Conv2d(4, 6, (3, 5), groups=2)
    sd = conv.state_dict()
    assert list(sd) == ["weight", "bias"]
    assert tuple(sd["weight"].shape) == (6, 2, 3, 5) and tuple(sd["bias"].shape) == (6,)
    bound = 1 / math.sqrt(2 * 3 * 5)  # kaiming_uniform_(a=sqrt(5)) and the bias: 1/sqrt(fan_in)
    assert np.abs(npy(conv.weight)).max() <= bound + 1e-7
    assert np.abs(npy(conv.bias)).max() <= bound + 1e-7
    assert np.abs(npy(conv.weight)).max() > 0.8 * bound
    tr = nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False)
    assert list(tr.state_dict()) == ["weight"]
    assert tuple(tr.weight.shape) == (4, 3, 3, 3)
    assert tuple(nn.Conv1d(3, 5, 4).weight.shape) == (5, 3, 4)
    assert tuple(nn.ConvTranspose1d(3, 5, 4).weight.shape) == (3, 5, 4)
    assert "kernel_size=(3, 5)" in repr(conv) and "groups=2" in repr(conv)


def test_bad_arguments():
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        nn.Conv2d(2, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError):
        nn.Conv2d(2, 4, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="input channels"):
        F.conv2d(t32(rnd((1, 3, 5, 5))), t32(rnd((2, 2, 3, 3))))
    with pytest.raises(RuntimeError, match="smaller than"):
        F.conv2d(t32(rnd((1, 2, 2, 2))), t32(rnd((2, 2, 3, 3))))
    with pytest.raises(RuntimeError, match="output padding"):
        F.conv_transpose2d(t32(rnd((1, 2, 3, 3))), t32(rnd((2, 2, 3, 3))), stride=1,
                           output_padding=1)


def test_frozen_input_and_weight_skip_their_gradients():
    x = t32(rnd((2, 3, 6, 6)))
    w = t32(rnd((4, 3, 3, 3), 1), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None
    x2 = t32(rnd((2, 3, 6, 6)), requires_grad=True)
    F.conv2d(x2, t32(rnd((4, 3, 3, 3), 1))).sum().backward()
    assert tuple(x2.grad.shape) == (2, 3, 6, 6)


# ----------------------------------------------------------------------------------------------
# parity with PyTorch


def _copy(src, dst, torch):
    with torch.no_grad():
        for (n1, p), (n2, q) in zip(src.named_parameters(), dst.named_parameters()):
            assert n1 == n2 and tuple(p.shape) == tuple(q.shape)
            q.copy_(torch.from_numpy(npy(p).copy()))


def _parity(m, tm, x, torch, atol=1e-4):
    _copy(m, tm, torch)
    ours = t32(x, requires_grad=True)
    theirs = torch.tensor(x.astype(np.float32), requires_grad=True)
    y, ty = m(ours), tm(theirs)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-4, atol=atol)
    g = rnd(tuple(ty.shape), 5).astype(np.float32)
    y.backward(t32(g))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(npy(ours.grad), theirs.grad.numpy(), rtol=1e-4, atol=atol)
    for p, q in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(npy(p.grad), q.grad.numpy(), rtol=1e-4, atol=atol)


@pytest.mark.parity
@pytest.mark.parametrize("kw", [
    dict(stride=1, padding=0),
    dict(stride=2, padding=1, dilation=2, groups=2, bias=False),
    dict(stride=(2, 1), padding=(1, 2), padding_mode="reflect"),
    dict(padding="same", dilation=(1, 2), padding_mode="replicate"),
    dict(padding=1, padding_mode="circular", groups=4),
    dict(padding="valid", stride=3),
])
def test_conv2d_parity(kw):
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    _parity(nn.Conv2d(4, 8, 3, **kw), torch.nn.Conv2d(4, 8, 3, **kw), rnd((2, 4, 9, 10)), torch)


@pytest.mark.parity
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 3), padding=(0, 1), groups=2, dilation=2)])
def test_conv_transpose2d_parity(kw):
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    _parity(nn.ConvTranspose2d(4, 6, 3, **kw), torch.nn.ConvTranspose2d(4, 6, 3, **kw),
            rnd((2, 4, 5, 6)), torch)


@pytest.mark.parity
def test_conv1d_parity():
    torch = pytest.importorskip("torch")
    torchlite.manual_seed(0)
    kw = dict(stride=2, padding=2, dilation=2, groups=2)
    _parity(nn.Conv1d(4, 6, 3, **kw), torch.nn.Conv1d(4, 6, 3, **kw), rnd((3, 4, 17)), torch)
    _parity(nn.ConvTranspose1d(4, 6, 3, stride=2), torch.nn.ConvTranspose1d(4, 6, 3, stride=2),
            rnd((3, 4, 7)), torch)


def test_scratch_pool_never_reuses_arrays_in_use():
    from torchlite import _workspace as ws

    a = ws.empty(np, (64, 1024), np.float32)
    b = ws.empty(np, (64, 1024), np.float32)
    assert a is not b  # `a` is still referenced
    view = a[:2]
    del a
    c = ws.empty(np, (64, 1024), np.float32)
    assert c.base is None and not np.shares_memory(c, view)  # a view keeps its base busy
    ident = id(c)
    del c
    assert id(ws.empty(np, (64, 1024), np.float32)) == ident  # idle: reused
    # same-shape convolutions in flight at once: outputs and saved columns stay intact
    x1, x2, w = rnd((8, 3, 16, 16)), rnd((8, 3, 16, 16), 1), rnd((4, 3, 3, 3), 2)
    wt = t32(w, requires_grad=True)
    y1 = F.conv2d(t32(x1, requires_grad=True), wt, padding=1)
    first = npy(y1).copy()
    y2 = F.conv2d(t32(x2), wt, padding=1)
    np.testing.assert_array_equal(npy(y1), first)
    y1.sum().backward()
    gw1 = npy(wt.grad).copy()
    wt.grad = None
    y2.sum().backward()
    xpad = [np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))) for x in (x1, x2)]
    for gw, xp_ in ((gw1, xpad[0]), (npy(wt.grad), xpad[1])):
        expected = np.stack([[[xp_[:, c, i:i + 16, j:j + 16].sum() for j in range(3)]
                              for i in range(3)] for c in range(3)])
        np.testing.assert_allclose(gw, np.broadcast_to(expected, (4, 3, 3, 3)), rtol=1e-3,
                                   atol=1e-2)


def test_conv_layers_on_device(device):
    torchlite.manual_seed(0)
    for m, shape in ((nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), (2, 4, 7, 8)),
                     (nn.Conv2d(4, 6, 3, padding="same", padding_mode="reflect"), (2, 4, 7, 8)),
                     (nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1), (2, 4, 5, 5)),
                     (nn.Conv1d(4, 6, 3, dilation=2), (2, 4, 9))):
        x = rnd(shape)
        ref = m(t32(x))
        xd = t32(x, requires_grad=True).to(device).detach().requires_grad_()
        y = m.to(device)(xd)
        assert y.device.type == device
        np.testing.assert_allclose(y.detach().cpu().numpy(), npy(ref), rtol=1e-4, atol=1e-5)
        y.sum().backward()
        assert xd.grad.device.type == device and m.weight.grad.device.type == device
