import numpy as np
import pytest
from _nn_checks import check_module_grads, rnd, t32, t64

import torchlite.nn as nn


def test_flatten_and_unflatten():
    x = t32(rnd((2, 3, 4, 5)))
    assert tuple(nn.Flatten()(x).shape) == (2, 60)
    assert tuple(nn.Flatten(0, 2)(x).shape) == (24, 5)
    u = nn.Unflatten(1, (3, 4))
    assert tuple(u(t32(rnd((2, 12)))).shape) == (2, 3, 4)
    np.testing.assert_array_equal(nn.Unflatten(1, (3, 4, 5))(nn.Flatten()(x)).numpy(), x.numpy())
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(u) == "Unflatten(dim=1, unflattened_size=(3, 4))"
    check_module_grads(nn.Flatten(), t64(rnd((2, 2, 2))))
    with pytest.raises(TypeError):
        nn.Unflatten(1, 5)
