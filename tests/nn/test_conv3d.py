"""Conv3d/ConvTranspose3d and F.conv3d/F.conv_transpose3d: loop references, gradchecks, parity."""

import numpy as np
import pytest
from _nn_checks import check_fn_grads, check_module_grads, npy, parity, rnd, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def ref_conv3d(x, w, b, s, p, d, groups):
    N, C, D, H, W = x.shape
    O, cg, *k = w.shape
    xp_ = np.pad(x, ((0, 0), (0, 0)) + tuple((q, q) for q in p))
    out_sp = [(n + 2 * q - di * (ki - 1) - 1) // si + 1
              for n, q, di, ki, si in zip((D, H, W), p, d, k, s)]
    out = np.zeros((N, O, *out_sp))
    og = O // groups
    for o in range(O):
        g = o // og
        for i in np.ndindex(*out_sp):
            sl = tuple(slice(ii * si, ii * si + di * (ki - 1) + 1, di)
                       for ii, si, di, ki in zip(i, s, d, k))
            patch = xp_[:, g * cg:(g + 1) * cg][(slice(None), slice(None)) + sl]
            out[(slice(None), o) + i] = (patch * w[o]).sum(axis=(1, 2, 3, 4))
    return out + (0 if b is None else b.reshape(1, -1, 1, 1, 1))


CASES = [dict(stride=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1), groups=1),
         dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2)]


@pytest.mark.parametrize("kw", CASES)
def test_conv3d_matches_loops_and_gradchecks(kw):
    x, w, b = rnd((2, 4, 5, 6, 5), 0), rnd((4, 4 // kw["groups"], 2, 3, 2), 1), rnd((4,), 2)
    got = F.conv3d(t64(x, False), t64(w, False), t64(b, False), **kw)
    np.testing.assert_allclose(npy(got), ref_conv3d(x, w, b, kw["stride"], kw["padding"],
                                                    kw["dilation"], kw["groups"]), atol=1e-12)
    check_fn_grads(lambda a, c, e: F.conv3d(a, c, e, **kw), t64(x[:1, :, :4, :5, :4]), t64(w),
                   t64(b))


def test_conv3d_padding_strings_and_unbatched():
    x, w = rnd((3, 4, 5, 6), 0), rnd((2, 3, 3, 2, 3), 1)
    same = F.conv3d(t64(x, False), t64(w, False), padding="same")
    assert tuple(same.shape) == (2, 4, 5, 6)
    valid = F.conv3d(t64(x, False), t64(w, False), padding="valid")
    np.testing.assert_allclose(npy(valid), ref_conv3d(x[None], w, None, (1, 1, 1), (0, 0, 0),
                                                      (1, 1, 1), 1)[0], atol=1e-12)
    with pytest.raises(RuntimeError, match="weight"):
        F.conv3d(t64(x, False), t64(rnd((2, 3, 3, 3), 1), False))


@pytest.mark.parametrize("kw", [dict(stride=1, padding=0, dilation=1),
                                dict(stride=(2, 1, 3), padding=(1, 0, 1), dilation=(1, 2, 1))])
def test_conv_transpose3d_is_the_adjoint_of_conv3d(kw):
    # <conv_transpose3d(g, w), x> == <g, conv3d(x, w)> with the output padding that restores x
    x, w = rnd((2, 4, 6, 5, 7), 0), rnd((3, 4, 2, 3, 2), 1)
    y = F.conv3d(t64(x, False), t64(w, False), **kw)
    g = rnd(tuple(y.shape), 3)
    s = (kw["stride"],) * 3 if isinstance(kw["stride"], int) else kw["stride"]
    p = (kw["padding"],) * 3 if isinstance(kw["padding"], int) else kw["padding"]
    d = (kw["dilation"],) * 3 if isinstance(kw["dilation"], int) else kw["dilation"]
    extra = tuple(n - ((m - 1) * si - 2 * pi + di * (ki - 1) + 1)
                  for n, m, si, pi, di, ki in zip(x.shape[2:], y.shape[2:], s, p, d, w.shape[2:]))
    back = F.conv_transpose3d(t64(g, False), t64(w, False), output_padding=extra, **kw)
    assert back.shape == x.shape
    np.testing.assert_allclose((npy(back) * x).sum(), (g * npy(y)).sum(), rtol=1e-10)
    check_fn_grads(lambda a, c: F.conv_transpose3d(a, c, groups=2, **kw),
                   t64(rnd((1, 4, 2, 3, 2), 5)), t64(rnd((4, 1, 2, 2, 2), 6)))


def test_modules_shapes_and_gradcheck():
    m = nn.Conv3d(2, 4, (2, 3, 2), stride=(1, 2, 1), padding=1, bias=True)
    assert tuple(m.weight.shape) == (4, 2, 2, 3, 2)
    assert tuple(m(torchlite.randn(1, 2, 4, 5, 4)).shape) == (1, 4, 5, 3, 5)
    check_module_grads(nn.Conv3d(2, 2, 2, groups=2), t64(rnd((1, 2, 3, 3, 3), 0)))
    t = nn.ConvTranspose3d(4, 2, 2, stride=2)
    assert tuple(t.weight.shape) == (4, 2, 2, 2, 2)
    assert tuple(t(torchlite.randn(1, 4, 2, 3, 2)).shape) == (1, 2, 4, 6, 4)
    assert tuple(t(torchlite.randn(1, 4, 2, 3, 2), output_size=(5, 7, 5)).shape) \
        == (1, 2, 5, 7, 5)
    check_module_grads(nn.ConvTranspose3d(2, 2, 2, stride=2), t64(rnd((1, 2, 2, 2, 2), 0)))


@pytest.mark.parity
@pytest.mark.parametrize("transposed", [False, True])
def test_parity_with_pytorch(transposed):
    torch = pytest.importorskip("torch")
    if transposed:
        ours = nn.ConvTranspose3d(4, 6, (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1),
                                  output_padding=(1, 0, 0), groups=2, dilation=(1, 2, 1))
        theirs = torch.nn.ConvTranspose3d(4, 6, (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1),
                                          output_padding=(1, 0, 0), groups=2,
                                          dilation=(1, 2, 1))
    else:
        ours = nn.Conv3d(4, 6, (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1), groups=2,
                         dilation=(1, 2, 1), padding_mode="circular")
        theirs = torch.nn.Conv3d(4, 6, (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1), groups=2,
                                 dilation=(1, 2, 1), padding_mode="circular")
    parity(ours, theirs, rnd((2, 4, 5, 6, 7), 4).astype(np.float32), atol=2e-5, rtol=2e-5)


def test_gradgradcheck():
    x, w = t64(rnd((1, 2, 3, 3, 3), 7)), t64(rnd((2, 2, 2, 2, 2), 8))
    assert torchlite.autograd.gradgradcheck(lambda a, b: F.conv3d(a, b, stride=(2, 1, 1)),
                                            [x, w])
    y, v = t64(rnd((1, 2, 2, 2, 2), 9)), t64(rnd((2, 1, 2, 2, 2), 10))
    assert torchlite.autograd.gradgradcheck(lambda a, b: F.conv_transpose3d(a, b, stride=2),
                                            [y, v])
