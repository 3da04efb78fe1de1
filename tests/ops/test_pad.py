"""F.pad with negative pads: crop first, then pad the cropped tensor, in every mode."""

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite
import torchlite.nn.functional as F

X = np.arange(10.0).reshape(1, 2, 5)


@pytest.mark.parametrize("pads,expected", [
    ((-1, 2), [1, 2, 3, 4, 1, 2]), ((2, -1), [2, 3, 0, 1, 2, 3]), ((-2, -1), [2, 3]),
    ((-3, 3), [3, 4, 3, 4, 3]), ((-4, 3), [4, 4, 4, 4]), ((5, 0), [0, 1, 2, 3, 4] * 2)])
def test_circular_with_negative_pads(pads, expected):
    out = F.pad(torchlite.tensor(X), pads, mode="circular")
    assert to_np(out)[0, 0].tolist() == expected


def test_other_modes_crop_then_pad_and_wrapping_twice_is_refused():
    t = torchlite.tensor(X)
    assert to_np(F.pad(t, (-1, 2), mode="reflect"))[0, 0].tolist() == [1, 2, 3, 4, 3, 2]
    assert to_np(F.pad(t, (-1, 2), mode="replicate"))[0, 0].tolist() == [1, 2, 3, 4, 4, 4]
    out = F.pad(torchlite.tensor(X.reshape(1, 1, 2, 5)), (1, -2, -1, 1), mode="circular")
    assert to_np(out)[0, 0].tolist() == [[7, 5, 6, 7], [7, 5, 6, 7]]
    with pytest.raises(RuntimeError, match="more than once"):
        F.pad(t, (6, 0), mode="circular")
    check_grad(lambda a: F.pad(a, (-1, 3, 1, -1), mode="circular"), data((1, 3, 5), 0))


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate", "constant"])
def test_parity_with_pytorch(mode):
    torch = pytest.importorskip("torch")
    x = data((1, 2, 6, 7), 1)
    for pads in ((-1, 2, 2, -3), (3, -2, -1, 1), (-2, -2, 0, 0)):
        np.testing.assert_array_equal(
            to_np(F.pad(torchlite.tensor(x), pads, mode=mode)),
            torch.nn.functional.pad(torch.tensor(x), pads, mode=mode).numpy())
