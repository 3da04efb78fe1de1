"""F.unfold / F.fold and nn.Unfold / nn.Fold: loop references, adjointness, gradchecks, parity."""

import numpy as np
import pytest
from _nn_checks import check_fn_grads, npy, rnd, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F

CASES = [dict(kernel_size=3), dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 2),
                                   dilation=(2, 1))]


def ref_unfold(x, k, s, p, d):
    xp_ = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    hs = (x.shape[2] + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ws = (x.shape[3] + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    cols = []
    for i in range(hs):
        for j in range(ws):
            patch = xp_[:, :, i * s[0]:i * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                        j * s[1]:j * s[1] + d[1] * (k[1] - 1) + 1:d[1]]
            cols.append(patch.reshape(x.shape[0], -1))
    return np.stack(cols, axis=2)


def _geom(kw):
    def pair(v, default):
        v = kw.get(v, default)
        return tuple(v) if isinstance(v, tuple) else (v, v)

    return pair("kernel_size", 1), pair("stride", 1), pair("padding", 0), pair("dilation", 1)


@pytest.mark.parametrize("kw", CASES)
def test_unfold_matches_loops_and_fold_is_its_adjoint(kw):
    x = rnd((2, 3, 7, 8), 0)
    cols = F.unfold(t64(x, False), **kw)
    np.testing.assert_array_equal(npy(cols), ref_unfold(x, *_geom(kw)))
    c = rnd(tuple(cols.shape), 1)
    img = F.fold(t64(c, False), (7, 8), **kw)
    np.testing.assert_allclose((npy(img) * x).sum(), (c * npy(cols)).sum(), rtol=1e-12)
    check_fn_grads(lambda t: F.unfold(t, **kw), t64(x[:1, :2]))
    check_fn_grads(lambda t: F.fold(t, (7, 8), **kw), t64(c[:1]))


def test_modules_unbatched_and_errors():
    x = t64(rnd((3, 4, 4), 2), False)
    cols = nn.Unfold(2, stride=2)(x)
    assert tuple(cols.shape) == (12, 4)
    np.testing.assert_allclose(npy(nn.Fold((4, 4), 2, stride=2)(cols)), npy(x))
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(t64(rnd((1, 12, 5), 3), False), (4, 4), 2, stride=2)
    with pytest.raises(RuntimeError, match="divisible"):
        F.fold(t64(rnd((1, 10, 4), 3), False), (4, 4), 2, stride=2)


@pytest.mark.parity
@pytest.mark.parametrize("kw", CASES)
def test_parity_with_pytorch(kw):
    torch = pytest.importorskip("torch")
    x = rnd((2, 3, 7, 8), 4)
    np.testing.assert_array_equal(npy(F.unfold(t64(x, False), **kw)),
                                  torch.nn.functional.unfold(torch.tensor(x), **kw).numpy())
    c = rnd(tuple(F.unfold(t64(x, False), **kw).shape), 5)
    np.testing.assert_allclose(npy(F.fold(t64(c, False), (7, 8), **kw)),
                               torch.nn.functional.fold(torch.tensor(c), (7, 8), **kw).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_gradgradcheck():
    x, c = t64(rnd((1, 2, 3, 3), 6)), t64(rnd((1, 8, 4), 7))
    assert torchlite.autograd.gradgradcheck(lambda t: F.unfold(t, 2) ** 2, [x])
    assert torchlite.autograd.gradgradcheck(lambda t: F.fold(t, (3, 3), 2) ** 2, [c])
