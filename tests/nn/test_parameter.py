import copy

import numpy as np
import pytest
from _nn_checks import npy

import torchlite
from torchlite.nn import Buffer, Parameter


def test_parameter_wraps_data_and_requires_grad():
    data = torchlite.tensor([1.0, 2.0])
    p = Parameter(data)
    assert isinstance(p, torchlite.Tensor) and isinstance(p, Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p._data is data._data  # shares memory, as in PyTorch
    assert not Parameter(data, requires_grad=False).requires_grad
    assert tuple(Parameter().shape) == (0,)


def test_parameter_repr_and_ops_return_tensors():
    p = Parameter(torchlite.tensor([0.0, 0.0]))
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert "requires_grad=True" in repr(p)
    y = p * 2
    assert type(y) is torchlite.Tensor and y.grad_fn is not None
    y.sum().backward()
    assert npy(p.grad).tolist() == [2.0, 2.0]


def test_parameter_deepcopy_keeps_type_and_flags():
    p = Parameter(torchlite.tensor([1.0, 2.0]), requires_grad=False)
    q = copy.deepcopy(p)
    assert type(q) is Parameter and not q.requires_grad
    assert q._data is not p._data
    np.testing.assert_array_equal(npy(q), npy(p))


def test_integer_parameter_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        Parameter(torchlite.tensor([1, 2]))
    assert not Parameter(torchlite.tensor([1, 2]), requires_grad=False).requires_grad


def test_buffer_marker():
    b = Buffer(torchlite.zeros(2), persistent=False)
    assert isinstance(b, torchlite.Tensor) and b.persistent is False
