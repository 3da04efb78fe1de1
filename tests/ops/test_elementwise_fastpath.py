"""ops/elementwise_fastpath.py: the common call of + - * / ** records exactly what the general
path records (values, saved arrays, version entries, edges), and every other case goes to the
general path."""

import importlib.util

import numpy as np
import pytest

import torchlite as torch
from torchlite.autograd import record
from torchlite.ops import elementwise as ew
from torchlite.ops.promotion import result_dtype

OPS = {"add": ew.Add, "sub": ew.Sub, "mul": ew.Mul, "div": ew.Div, "pow": ew.Pow}


def _pair(kind, dtype, grads):
    torch.manual_seed(0)
    shapes = {"same": ((3, 4), (3, 4)), "scalar-param": ((), (5,)), "broadcast": ((3, 1), (1, 4)),
              "both-0d": ((), ())}[kind]
    a = (torch.rand(shapes[0], dtype=dtype) + 0.5).requires_grad_(grads[0])
    b = (torch.rand(shapes[1], dtype=dtype) + 0.5).requires_grad_(grads[1])
    return a, b


def _general(op, a, b):
    return op.apply(a, b, result_dtype(a, b))


def _assert_same_node(fast, slow, args_fast, args_slow):
    assert fast._data.dtype == slow._data.dtype and fast._data.shape == slow._data.shape
    assert type(fast._data) is type(slow._data) is np.ndarray
    np.testing.assert_array_equal(fast._data, slow._data)
    assert fast.requires_grad == slow.requires_grad
    f, s = fast.grad_fn, slow.grad_fn
    if s is None:
        assert f is None
        return
    assert f.fn is s.fn and f.needs_input_grad == s.needs_input_grad
    # every slot of the node as the general path sets it
    from torchlite.autograd.function import Context

    for name in Context.__slots__:
        if name not in ("__dict__", "__weakref__", "_saved", "_versions", "next_edges"):
            assert getattr(f, name) == getattr(s, name), name
    assert f.__dict__ == s.__dict__  # the operands' (shape, dtype)

    def ids(saved, args, out):
        # saved items named by what they are: argument k, the output, a number or nothing
        named = []
        for x in saved:
            k = next((i for i, a in enumerate(args) if isinstance(a, torch.Tensor)
                      and a._data is x), None)
            if k is not None:
                named.append(("arg", k))
            elif isinstance(x, (np.ndarray, np.generic)):
                assert x is out._data or x.shape == ()  # (a 0-d output is saved as a scalar)
                np.testing.assert_array_equal(x, out._data)
                named.append(("out",))
            else:
                named.append(("value", x))
        return named

    assert ids(f._saved, args_fast, fast) == ids(s._saved, args_slow, slow)
    fv = [(i, v[1], j) for i, v, j in f._versions or ()]
    sv = [(i, v[1], j) for i, v, j in s._versions or ()]
    assert fv == sv
    assert [e is None for e in f.next_edges] == [e is None for e in s.next_edges]
    for fe, se in zip(f.next_edges, s.next_edges):
        if fe is not None:
            assert fe[1] == se[1] and type(fe[0]) is type(se[0])


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("kind", ["same", "scalar-param", "broadcast", "both-0d"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True), (False, False)])
def test_tensor_pairs_record_what_the_general_path_records(name, kind, dtype, grads):
    op = OPS[name]
    a, b = _pair(kind, dtype, grads)
    fast = op.fast(a, b)
    assert fast is not None
    _assert_same_node(fast, _general(op, a, b), (a, b), (a, b))
    if fast.requires_grad:  # and backward gives the general path's gradients, bit for bit
        fast.sum().backward()
        got = [t.grad._data.copy() if t.grad is not None else None for t in (a, b)]
        a.grad = b.grad = None
        _general(op, a, b).sum().backward()
        for g, t in zip(got, (a, b)):
            assert (g is None) == (t.grad is None)
            if g is not None:
                assert g.dtype == t.grad._data.dtype
                np.testing.assert_array_equal(g, t.grad._data)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("number", [2, 3, 0.5, -1.25])
@pytest.mark.parametrize("left", [False, True])
def test_a_python_number_operand(name, number, left):
    x = (torch.rand(6, dtype=torch.float32) + 0.5).requires_grad_()
    args = (number, x) if left else (x, number)
    fast = OPS[name].fast(*args)
    assert fast is not None and fast.dtype == torch.float32
    _assert_same_node(fast, _general(OPS[name], *args), args, args)


def test_same_tensor_twice_keeps_one_version_box():
    x = torch.rand(4, requires_grad=True)
    y = x * x
    assert y.grad_fn._versions is not None
    assert all(j == 0 for _, _, j in y.grad_fn._versions)  # the first argument, as before
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, 2 * x._data)


def test_an_input_changed_in_place_after_the_op_is_reported():
    x = torch.rand(3, requires_grad=True)
    w = torch.rand(3)
    y = x * w
    w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_no_grad_and_unrecorded_calls_build_no_node():
    x = torch.rand(3, requires_grad=True)
    with torch.no_grad():
        y = x * 2.0
    assert y.grad_fn is None and not y.requires_grad
    z = torch.rand(3) * torch.rand(3)
    assert z.grad_fn is None and not z.requires_grad


@pytest.mark.parametrize("args", [
    lambda: (torch.rand(3).half(), torch.rand(3).half()),
    pytest.param(lambda: (torch.rand(3).to(torch.bfloat16), 2.0), marks=pytest.mark.skipif(
        importlib.util.find_spec("ml_dtypes") is None,
        reason="bfloat16 needs the 'bf16' extra (ml_dtypes)")),
    lambda: (torch.arange(3), torch.arange(3)),
    lambda: (torch.rand(3), torch.rand(3, dtype=torch.float64)),
    lambda: (torch.rand(3), np.float32(2)),
    lambda: (torch.rand(3), True),
    lambda: (torch.rand(3), [1.0, 2.0, 3.0]),
    lambda: (torch.rand(4)[1:], torch.rand(3)),  # a view
    lambda: (2.0, 3.0),
    lambda: (torch.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse(), 2.0),  # sparse storage
    lambda: (2.0, torch.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()),
    lambda: (torch.rand(2, 3), torch.rand(4)),  # shapes that do not broadcast
])
def test_other_cases_take_the_general_path(args):
    assert ew.Mul.fast(*args()) is None


def test_a_huge_python_float_keeps_the_tensor_dtype():
    # PyTorch: float32 * 1e300 is float32 inf; NumPy 1's value-based casting would widen the
    # result to float64, which the fast path hands to the general path instead of returning
    x = torch.ones(3, requires_grad=True)
    with np.errstate(over="ignore"):  # NumPy's cast of 1e300 to float32 warns
        y = x * 1e300
    assert y.dtype == torch.float32
    assert np.isinf(y.detach().numpy()).all()


def test_shapes_that_do_not_broadcast_keep_the_general_error():
    with pytest.raises(RuntimeError, match=r"mul: shapes \(2, 3\) and \(4,\)"):
        torch.rand(2, 3) * torch.rand(4)


def test_anomaly_mode_and_recorders_take_the_general_path():
    x = torch.rand(3, requires_grad=True)
    with torch.autograd.detect_anomaly():
        assert ew.Mul.fast(x, x) is None
        assert hasattr((x * x).grad_fn, "_anomaly_trace")

    class Seen(record.Recorder):
        def __init__(self):
            self.ops = []

        def begin(self, event):
            self.ops.append(event)

    seen = Seen()
    record.add_recorder(seen)
    try:
        assert ew.Mul.fast(x, x) is None
        x * x
    finally:
        record.remove_recorder(seen)
    assert seen.ops  # the profiler and the ONNX capture still see the op


def test_public_functions_with_options_take_the_general_path():
    a, b = torch.rand(3), torch.rand(3)
    np.testing.assert_array_equal(torch.add(a, b, alpha=2)._data, a._data + 2 * b._data)
    np.testing.assert_array_equal(torch.div(a, b, rounding_mode="floor")._data,
                                  np.floor(a._data / b._data))
    out = torch.empty(3)
    torch.mul(a, b, out=out)
    np.testing.assert_array_equal(out._data, a._data * b._data)


@pytest.mark.parametrize("shape", [(), (3,)])
def test_the_output_tensor_is_what_tensor_make_builds(shape):
    # the fast path builds its output without Tensor._make: every slot must be set alike
    x = torch.rand(shape)
    fast = ew.Mul.fast(x, x)
    made = torch.Tensor._make(x._data * x._data, x._device)
    for name in torch.Tensor.__slots__:
        if name in ("__weakref__", "__dict__"):
            continue
        f, m = getattr(fast, name), getattr(made, name)
        if name == "_data":
            assert type(f) is type(m) is np.ndarray and f.shape == m.shape
        elif name == "_vbox":
            assert f == m and f is not x._vbox
        else:
            assert f == m, name
    assert fast.__dict__ == made.__dict__ == {}
