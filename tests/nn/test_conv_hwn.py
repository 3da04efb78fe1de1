"""conv2d's batch-innermost layout for small images equals the flat layout it replaces."""

import numpy as np
import pytest
from _nn_checks import npy, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.autograd import gradcheck
from torchlite.nn.functional import conv as conv_module
from torchlite.nn.functional import conv_hwn


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# (N, C, H, W, O, k, padding, dilation, groups)
CASES = [
    (64, 6, 14, 14, 16, (5, 5), (0, 0), (1, 1), 1),  # LeNet-5's second layer
    (3, 4, 6, 7, 6, (3, 2), (2, 1), (1, 2), 2),
    (2, 3, 5, 5, 4, (3, 3), (1, 1), (1, 1), 1),
    (1, 4, 4, 6, 4, (2, 3), (0, 1), (2, 1), 4),
]


def _run(case, act, bias, needs_x):
    N, C, H, W, O, k, p, d, g = case
    x = t32(rnd((N, C, H, W)), requires_grad=needs_x)
    w = t32(rnd((O, C // g) + k, 1) * 0.3, requires_grad=True)
    b = t32(rnd(O, 2), requires_grad=True) if bias else None
    if act:
        y = conv_module.conv2d_act(x, w, b, (1, 1), p, d, g, "relu")
    else:
        y = F.conv2d(x, w, b, 1, p, d, g)
    y.backward(t32(rnd(tuple(y.shape), 3)))
    return [npy(y)] + [None if t is None or t.grad is None else npy(t.grad) for t in (x, w, b)]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("act, bias, needs_x", [(False, True, True), (True, True, False),
                                                (True, False, True)])
def test_matches_the_flat_layout(case, act, bias, needs_x, monkeypatch):
    N, C, H, W, O, k, p, d, g = case
    geom = conv_module._Geom(N, C, H + 2 * p[0], W + 2 * p[1], k, (1, 1), d, g, "t")
    assert conv_hwn.takes(geom, np.zeros(1))  # each case runs the layout under test
    ours = _run(case, act, bias, needs_x)
    monkeypatch.setattr(conv_hwn, "takes", lambda *a: False)
    flat = _run(case, act, bias, needs_x)
    for a, b in zip(ours, flat):
        assert (a is None) == (b is None)
        if a is not None:
            # float32 sums of up to 150 terms, in another order: rounding of the largest terms
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * (1 + np.abs(b).max()))


def test_gradcheck_and_the_layouts_choice():
    x, w, b = t64(rnd((3, 4, 5, 6))), t64(rnd((6, 2, 3, 2), 1)), t64(rnd(6, 2))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, 1, (1, 2), (2, 1), 2), [x, w, b])
    lenet1 = conv_module._Geom(64, 1, 32, 32, (5, 5), (1, 1), (1, 1), 1, "t")
    assert not conv_hwn.takes(lenet1, np.zeros(1))  # 28 outputs of 32 columns: flat
    strided = conv_module._Geom(2, 3, 9, 9, (3, 3), (2, 2), (1, 1), 1, "t")
    assert not conv_hwn.takes(strided, np.zeros(1))


def test_sequential_relu_and_frozen_weight():
    torchlite.manual_seed(0)
    seq = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU())
    seq[0].weight.requires_grad_(False)
    x = t32(rnd((4, 3, 6, 6)), requires_grad=True)
    seq(x).sum().backward()
    assert seq[0].weight.grad is None and seq[0].bias.grad is not None
    assert tuple(x.grad.shape) == (4, 3, 6, 6)
