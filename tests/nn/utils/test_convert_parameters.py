import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
from torchlite.nn.utils import parameters_to_vector, vector_to_parameters


def test_round_trip_and_gradient():
    m = nn.Linear(3, 2)
    vec = parameters_to_vector(m.parameters())
    assert tuple(vec.shape) == (8,)
    np.testing.assert_array_equal(vec.detach().numpy()[:6], m.weight.detach().numpy().ravel())
    (vec * torchlite.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy().ravel(), np.arange(6.0))
    new = torchlite.arange(8.0)
    vector_to_parameters(new, m.parameters())
    np.testing.assert_array_equal(m.bias.detach().numpy(), [6.0, 7.0])
    assert tuple(m.weight.shape) == (2, 3)
    with pytest.raises(TypeError, match="expected torchlite.Tensor"):
        vector_to_parameters(np.zeros(8), m.parameters())
