"""Python's float, int and bool as dtype arguments mean float64, int64 and bool, as in PyTorch,
whatever the default dtype (which only applies to Python float *values*)."""

import numpy as np
import pytest

import torchlite


@pytest.fixture
def half_default():
    torchlite.set_default_dtype(torchlite.float16)
    yield
    torchlite.set_default_dtype(torchlite.float32)


CALLS = {
    "zeros": lambda t, dt: t.zeros(2, dtype=dt),
    "ones": lambda t, dt: t.ones(2, dtype=dt),
    "full": lambda t, dt: t.full((2,), 1, dtype=dt),
    "tensor": lambda t, dt: t.tensor([1, 0], dtype=dt),
    "arange": lambda t, dt: t.arange(3, dtype=dt),
    "eye": lambda t, dt: t.eye(2, dtype=dt),
    "randint": lambda t, dt: t.randint(0, 2, (2,), dtype=dt),
    "to": lambda t, dt: t.ones(2).to(dt),
    "to(dtype=)": lambda t, dt: t.ones(2).to(dtype=dt),
    "zeros_like": lambda t, dt: t.zeros_like(t.ones(2), dtype=dt),
    "new_zeros": lambda t, dt: t.ones(2).new_zeros(2, dtype=dt),
    "sum(dtype=)": lambda t, dt: t.ones(2).sum(dtype=dt),
}
EXPECTED = {float: torchlite.float64, int: torchlite.int64, bool: torchlite.bool}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("pytype", [float, int, bool], ids=["float", "int", "bool"])
def test_python_types_as_dtypes(name, pytype):
    if name == "sum(dtype=)" and pytype is bool:
        pytest.skip("a bool sum is not a thing")
    assert CALLS[name](torchlite, pytype).dtype is EXPECTED[pytype]


def test_float_means_float64_whatever_the_default_dtype(half_default):
    assert torchlite.zeros(2, dtype=float).dtype is torchlite.float64
    assert torchlite.zeros(2).dtype is torchlite.float16  # the default applies to no dtype
    assert torchlite.tensor([1.0]).dtype is torchlite.float16  # and to Python float values


def test_python_float_dtype_keeps_the_values():
    x = torchlite.tensor([1 / 3], dtype=float)
    assert x.numpy().dtype == np.float64 and x.item() == 1 / 3


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("pytype", [float, int], ids=["float", "int"])
def test_python_type_dtypes_parity(name, pytype):
    torch = pytest.importorskip("torch")
    assert str(CALLS[name](torchlite, pytype).dtype).split(".")[-1] == \
        str(CALLS[name](torch, pytype).dtype).split(".")[-1]
