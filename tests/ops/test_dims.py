"""Dimension arguments (torchlite/ops/dims.py): the one wrap_dim, used by the ops and by
Tensor.size/stride, the dims lists of reductions, and sizes given as f(2, 3) or f((2, 3))."""

import numpy as np
import pytest

import torchlite
from torchlite.ops.dims import numpy_kwargs, shape_args, wrap_dim, wrap_dims


def test_wrap_dim_wraps_negative_dims_and_names_the_op_when_out_of_range():
    assert wrap_dim(-1, 3, "op") == 2 and wrap_dim(np.int64(1), 3, "op") == 1
    assert wrap_dim(-1, 0, "op") == 0  # a 0-d tensor takes -1 and 0, as in PyTorch
    with pytest.raises(IndexError, match=r"op: Dimension out of range \(expected to be in "
                                         r"range of \[-3, 2\], but got 3\)"):
        wrap_dim(3, 3, "op")
    with pytest.raises(TypeError, match="op: dim must be an int"):
        wrap_dim(True, 3, "op")


def test_tensor_size_and_stride_use_the_same_wrap_dim():
    t = torchlite.zeros(2, 3)
    assert t.size(-1) == 3 and t.stride(0) == 3
    with pytest.raises(IndexError, match=r"size: Dimension out of range .* but got 2\)"):
        t.size(2)
    with pytest.raises(TypeError, match="stride: dim must be an int"):
        t.stride(1.0)


def test_wrap_dims_sorts_and_refuses_repeats():
    assert wrap_dims(None, 3, "sum") is None
    assert wrap_dims((-1, 0), 3, "sum") == (0, 2)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        wrap_dims((1, -2), 3, "sum")


def test_shape_args_takes_ints_sequences_and_one_element_tensors():
    assert shape_args((2, 3), "zeros") == (2, 3)
    assert shape_args(([2, np.int32(3)],), "zeros") == (2, 3)
    assert shape_args((torchlite.tensor(4), 1), "zeros") == (4, 1)
    for bad in (True, 2.0, "2"):
        with pytest.raises(TypeError, match="zeros: sizes must be integers"):
            shape_args((bad,), "zeros")


def test_numpy_kwargs_are_aliases_and_nothing_else():
    assert numpy_kwargs({"axis": 1, "keepdims": True}, "sum", None, False) == (1, True)
    with pytest.raises(TypeError, match="multiple values for argument 'dim'"):
        numpy_kwargs({"axis": 1}, "sum", 0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'dims'"):
        numpy_kwargs({"dims": 1}, "sum", None)
