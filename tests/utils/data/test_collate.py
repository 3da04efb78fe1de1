from collections import namedtuple

import numpy as np
import pytest

import torchlite
from torchlite.utils.data import default_collate, default_convert

Pair = namedtuple("Pair", ["a", "b"])


def test_collate_numpy_arrays_keep_dtype():
    xs = [np.full((2, 3), i, dtype=np.float32) for i in range(4)]
    out = default_collate(xs)
    assert isinstance(out, torchlite.Tensor)
    assert out.dtype == torchlite.float32
    assert tuple(out.shape) == (4, 2, 3)
    np.testing.assert_array_equal(out.numpy(), np.stack(xs))
    labels = default_collate([np.int64(3), np.int64(1)])
    assert labels.dtype == torchlite.int64
    assert labels.tolist() == [3, 1]
    u8 = default_collate([np.array([1, 2], dtype=np.uint8)] * 2)
    assert u8.dtype == torchlite.uint8


def test_collate_tensors():
    ts = [torchlite.tensor([1.0, 2.0]), torchlite.tensor([3.0, 4.0])]
    out = default_collate(ts)
    assert out.dtype == torchlite.float32
    np.testing.assert_array_equal(out.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([torchlite.tensor([1.0]), torchlite.tensor([1.0, 2.0])])


def test_collate_python_numbers_follow_pytorch():
    ints = default_collate([1, 2, 3])
    assert ints.dtype == torchlite.int64 and ints.tolist() == [1, 2, 3]
    floats = default_collate([0.5, 1.5])
    assert floats.dtype == torchlite.float64 and floats.tolist() == [0.5, 1.5]
    bools = default_collate([True, False])
    assert bools.dtype == torchlite.bool and bools.tolist() == [True, False]


def test_collate_structures():
    samples = [(np.array([i, i], dtype=np.float32), i, f"s{i}") for i in range(3)]
    x, y, s = default_collate(samples)
    np.testing.assert_array_equal(x.numpy(), [[0, 0], [1, 1], [2, 2]])
    assert y.tolist() == [0, 1, 2]
    assert s == ["s0", "s1", "s2"]
    assert isinstance(default_collate(samples), list)  # tuples come back as lists, as in PyTorch

    dicts = [{"x": np.ones(2, dtype=np.float32) * i, "y": i} for i in range(2)]
    out = default_collate(dicts)
    assert set(out) == {"x", "y"}
    np.testing.assert_array_equal(out["x"].numpy(), [[0, 0], [1, 1]])
    assert out["y"].tolist() == [0, 1]

    nt = default_collate([Pair(1, 2.0), Pair(3, 4.0)])
    assert isinstance(nt, Pair)
    assert nt.a.tolist() == [1, 3] and nt.b.tolist() == [2.0, 4.0]

    nested = default_collate([[1, [2, 3]], [4, [5, 6]]])
    assert nested[0].tolist() == [1, 4]
    assert [t.tolist() for t in nested[1]] == [[2, 5], [3, 6]]


def test_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="dtype object"):
        default_collate([np.array([None]), np.array([None])])
    with pytest.raises(TypeError, match="found NoneType"):
        default_collate([None, None])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_default_convert_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = default_convert(a)
    assert isinstance(t, torchlite.Tensor)
    assert np.shares_memory(t.numpy(), a)
    out = default_convert((a, {"k": np.int64(4)}, "text"))
    assert isinstance(out, list)
    assert out[1]["k"].tolist() == 4 and out[1]["k"].dtype == torchlite.int64
    assert out[2] == "text"
    assert default_convert(np.array(["a", "b"])).tolist() == ["a", "b"]  # strings stay arrays
    mm = a.view(np.memmap)
    assert type(default_convert(mm).numpy()) is np.ndarray
