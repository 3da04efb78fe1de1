"""ops/broadcast.py: the shape check of binary ops (with a 0-d operand skipping NumPy's search)
and summing a gradient back to an input's shape."""

import numpy as np
import pytest

from torchlite.ops.broadcast import broadcast_shapes, unbroadcast


@pytest.mark.parametrize("a,b", [((), (3,)), ((2, 3), ()), ((), ()), ((0,), ()), ((), (1, 0, 2)),
                                 ((2, 1), (1, 3)), ((4, 1, 3), (5, 1))])
def test_broadcast_shapes_equals_numpy(a, b):
    got = broadcast_shapes("add", a, b)
    assert type(got) is tuple and got == np.broadcast_shapes(a, b)


def test_broadcast_shapes_names_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"mul: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        broadcast_shapes("mul", (2, 3), (4,))


def test_unbroadcast_sums_back_to_a_scalar_and_a_column():
    g = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert unbroadcast(g, ()).shape == () and unbroadcast(g, ()) == 15
    np.testing.assert_array_equal(unbroadcast(g, (2, 1)), [[3], [12]])
    assert unbroadcast(g, (2, 3), np.float64).dtype == np.float64
