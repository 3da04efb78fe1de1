"""Scatter and gather on either array module (torchlite/ops/scatter.py): the stand-ins for NumPy
routines CuPy lacks or runs with a host sync: put_along_axis, add.at, bincount."""

import numpy as np
import pytest

from torchlite.ops.scatter import add_at, add_at_on_host, along_axis_key, bincount


@pytest.mark.parametrize("shape,axis", [((5,), 0), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 1),
                                        ((2, 3, 4), 2)])
def test_along_axis_key_is_take_and_put_along_axis(shape, axis):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    ishape = list(shape)
    ishape[axis] = 2
    idx = rng.integers(0, shape[axis], size=ishape)
    key = along_axis_key(idx, axis, np)
    np.testing.assert_array_equal(a[key], np.take_along_axis(a, idx, axis))
    values = rng.standard_normal(ishape)
    got, want = np.zeros(shape), np.zeros(shape)
    got[key] = values
    np.put_along_axis(want, idx, values, axis)
    np.testing.assert_array_equal(got, want)


def test_along_axis_key_of_a_keepdim_argmax_puts_the_gradient():
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    idx = a.argmax(axis=1, keepdims=True)
    out = np.zeros_like(a)
    out[along_axis_key(idx, 1, np)] = np.array([[10.0], [20.0]])
    np.testing.assert_array_equal(out, [[0, 10, 0], [20, 0, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int8, np.uint8])
def test_add_at_accumulates_repeated_indices(dtype):
    out = np.zeros((4, 3), dtype=dtype)
    idx = np.array([2, 0, 2, 3])
    values = np.arange(12, dtype=dtype).reshape(4, 3)
    add_at(out, (idx, slice(None)), values)
    want = np.zeros((4, 3), dtype=dtype)
    np.add.at(want, (idx, slice(None)), values)
    np.testing.assert_array_equal(out, want)
    assert out.dtype == dtype and out[2].tolist() == (values[0] + values[2]).tolist()


def test_add_at_on_host_takes_every_kind_of_key():
    # the path a GPU takes for dtypes without an atomic add: keys of slices, ints, arrays
    a = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    for key, values in (((slice(None), np.array([0, 0, 2]), 1), np.int64(5)),
                        ((1, np.array([1, 1]), np.array([3, 3])), np.array([1, 2])),
                        (np.array([1, 1, 0]), np.ones((3, 3, 4), dtype=np.int64)),
                        ((Ellipsis, np.array([0, 3, 3])), np.int64(2))):
        want = a.copy()
        np.add.at(want, key, values)
        got = add_at_on_host(a.copy(), key, values)
        np.testing.assert_array_equal(got, want)


def test_bincount_is_numpys_with_minlength():
    idx = np.array([3, 0, 3, 1, 3])
    counts = bincount(idx, 6)
    np.testing.assert_array_equal(counts, [1, 1, 0, 3, 0, 0])
    assert counts.dtype == np.int64
    w = np.array([0.5, 1.0, 2.0, 4.0, 8.0], dtype=np.float32)
    sums = bincount(idx, 6, weights=w)
    np.testing.assert_array_equal(sums, np.bincount(idx, weights=w, minlength=6))
    assert sums.dtype == np.float64
    assert bincount(np.zeros(0, dtype=np.int64), 3).tolist() == [0, 0, 0]
