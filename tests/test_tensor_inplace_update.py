"""`p -= lr * p.grad` under no_grad: add_/sub_/mul_ (and += -= *=) write straight into the
tensor's memory for same-dtype float NumPy operands, with the general path's bits, version bump
and errors; every other case keeps the general path."""

import numpy as np
import pytest

import torchlite
from torchlite._tensor_inplace import _array_update

OPS = [("add_", np.add), ("sub_", np.subtract), ("mul_", np.multiply)]


def _pair(dtype, shape=(5,), other_shape=None):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape if other_shape is None else other_shape).astype(dtype)
    return x, y


@pytest.mark.parametrize("name,ufunc", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("other_shape", [None, ()])
def test_same_bits_memory_and_version(name, ufunc, dtype, other_shape):
    x, y = _pair(dtype, other_shape=other_shape)
    t = torchlite.from_numpy(x.copy())
    o = torchlite.from_numpy(y)
    memory, version = t.data_ptr(), t._version
    with torchlite.no_grad():
        assert getattr(t, name)(o) is t
    assert t.data_ptr() == memory and t._version == version + 1
    assert t._data.tobytes() == ufunc(x, y).tobytes()


@pytest.mark.parametrize("scalar", [1e-6, 3, -0.5])
def test_python_scalars_match_the_general_path(scalar):
    x, _ = _pair(np.float32)
    fast, slow = torchlite.from_numpy(x.copy()), torchlite.from_numpy(x.copy())
    with torchlite.no_grad():
        fast.mul_(scalar)
        fast -= scalar
        fast += scalar
    slow.mul_(scalar)  # grad mode on, nothing requires grad: the general path
    slow.sub_(scalar)
    slow.add_(scalar)
    assert fast._data.dtype == np.float32
    assert fast._data.tobytes() == slow._data.tobytes()


def test_parameter_update_loop_matches_the_general_path():
    """Two identical hand-written SGD loops, one with the general in-place path, agree bit for
    bit."""
    def run(general):
        torchlite.manual_seed(0)
        x = torchlite.linspace(-3.14, 3.14, 200)
        y = torchlite.sin(x)
        ps = [torchlite.randn((), requires_grad=True) for _ in range(4)]
        for _ in range(5):
            a, b, c, d = ps
            loss = (a + b * x + c * x ** 2 + d * x ** 3 - y).pow(2).sum()
            loss.backward()
            with torchlite.no_grad():
                for p in ps:
                    step = 1e-3 * p.grad
                    if general:
                        p.copy_(p - step)
                    else:
                        p -= step
                    p.grad = None
        return [p._data.tobytes() for p in ps]

    assert run(general=False) == run(general=True)


@pytest.mark.parametrize("case", ["float16", "int", "other_dtype", "broadcast_up",
                                  "bool_scalar", "view"])
def test_other_cases_keep_the_general_path(case):
    t = torchlite.ones(3)
    other = torchlite.ones(3)
    if case == "float16":
        t, other = t.half(), other.half()
    elif case == "int":
        t, other = t.long(), other.long()
    elif case == "other_dtype":
        other = other.double()
    elif case == "broadcast_up":
        other = torchlite.ones(2, 3)
    elif case == "bool_scalar":
        other = True
    elif case == "view":
        t = torchlite.ones(2, 3)[0]
    with torchlite.no_grad():
        assert not _array_update(t, np.add, other)


def test_with_grad_mode_on_the_method_records_the_update():
    # the fast path writes no graph node: with grad mode on, the general path must run
    t = torchlite.ones(3, requires_grad=True) * 1.0
    t.add_(torchlite.ones(3))
    assert t.grad_fn.name() == "AddBackward0"


def test_alpha_takes_the_general_path():
    t = torchlite.ones(3)
    with torchlite.no_grad():
        t.add_(torchlite.ones(3), alpha=2)
        t.sub_(torchlite.ones(3), alpha=0.5)
    np.testing.assert_array_equal(t.numpy(), np.full(3, 2.5, np.float32))


def test_errors_and_grad_mode_unchanged():
    leaf = torchlite.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.sub_(torchlite.ones(3))
    with torchlite.no_grad():
        leaf.sub_(torchlite.ones(3))  # allowed, as in PyTorch
        with pytest.raises(RuntimeError, match="broadcast"):
            torchlite.ones(3).add_(torchlite.ones(2, 3))
    assert leaf.grad_fn is None and leaf.requires_grad
    np.testing.assert_array_equal(leaf.detach().numpy(), np.zeros(3, np.float32))


def test_a_saved_tensor_changed_by_the_fast_path_is_caught_in_backward():
    w = torchlite.ones(3, requires_grad=True)
    x = torchlite.ones(3)
    y = (w * x).sum()
    with torchlite.no_grad():
        x.mul_(2.0)  # the version bump is what backward checks
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
