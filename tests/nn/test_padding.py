"""Padding layers (Zero, Constant, Reflection, Replication, Circular; 1-3 dims): F.pad, parity."""

import numpy as np
import pytest
from _nn_checks import check_module_grads, npy, rnd, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F

KINDS = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect",
         "Replication": "replicate", "Circular": "circular"}


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_layer_is_f_pad(kind, nd):
    pads = (1, 2, 0, 1, 2, 1)[:2 * nd]
    args = (pads, 2.5) if kind == "Constant" else (pads,)
    layer = getattr(nn, f"{kind}Pad{nd}d")(*args)
    x = t64(rnd((2, 3, 4, 5, 6)[-(nd + 2):], 0), False)
    value = 2.5 if kind == "Constant" else None
    np.testing.assert_array_equal(npy(layer(x)), npy(F.pad(x, pads, KINDS[kind], value)))
    assert tuple(getattr(nn, f"{kind}Pad{nd}d")(*((2, 1.0) if kind == "Constant" else (2,)))
                 .padding) == (2,) * 2 * nd
    check_module_grads(layer, t64(rnd((1, 2, 4, 4, 4)[-(nd + 2):], 1)))


def test_repr_and_bad_padding():
    assert repr(nn.ReflectionPad2d(2)) == "ReflectionPad2d((2, 2, 2, 2))"
    assert repr(nn.ConstantPad1d(2, 1.0)) == "ConstantPad1d(padding=(2, 2), value=1.0)"
    with pytest.raises(ValueError, match="4-tuple"):
        nn.ZeroPad2d((1, 2))
    assert isinstance(nn.ZeroPad2d(1), torchlite.nn.Module)


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    x = rnd((1, 2, 4, 5, 6), 2).astype(np.float32)
    for kind in KINDS:
        for nd in (1, 2, 3):
            args = ((1, 2, 0, 1, 2, 1)[:2 * nd],) + ((3.5,) if kind == "Constant" else ())
            ours = getattr(nn, f"{kind}Pad{nd}d")(*args)
            theirs = getattr(torch.nn, f"{kind}Pad{nd}d")(*args)
            xx = x[(0,) * (3 - nd)] if nd < 3 else x
            np.testing.assert_array_equal(npy(ours(torchlite.tensor(xx))),
                                          theirs(torch.tensor(xx)).numpy())
            assert repr(ours) == repr(theirs)
