"""torchlite._ort_kernels: the hand-encoded ONNX models equal onnx.helper's, and sessions are
made once per process, thread count and model, shared by threads, never by a forked child."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest
from _onnx_package import onnx_or_skip

from torchlite import _ort_kernels as ok


@pytest.fixture
def ort():
    return pytest.importorskip("onnxruntime", reason="onnxruntime kernels need the 'onnx' extra "
                               "(onnxruntime)")


def _add_model() -> bytes:
    """Y = X + X, float32, with a node attribute-free and a Cast carrying one."""
    nodes = [ok.node("Add", ["X", "X"], ["T"], "add"), ok.node("Cast", ["T"], ["Y"], to=ok.FLOAT)]
    return ok.model_bytes(nodes, [("X", ok.FLOAT, ("N", 3))], [("Y", ok.FLOAT, ("N", 3))],
                          "doubling", 13)


def test_model_bytes_equal_onnx_helpers_model():
    onnx = onnx_or_skip("comparing with onnx.helper needs the 'onnx' "
                               "extra")
    h, tp = onnx.helper, onnx.TensorProto
    graph = h.make_graph(
        [h.make_node("Add", ["X", "X"], ["T"], name="add"),
         h.make_node("Cast", ["T"], ["Y"], to=tp.FLOAT)], "doubling",
        [h.make_tensor_value_info("X", tp.FLOAT, ["N", 3])],
        [h.make_tensor_value_info("Y", tp.FLOAT, ["N", 3])])
    want = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)],
                        producer_name="torchlite", ir_version=7)
    got = onnx.load_from_string(_add_model())
    onnx.checker.check_model(got)
    assert got == want
    # several integer attributes, in onnx.helper's (sorted) order, and a large value
    node = onnx.NodeProto()
    node.ParseFromString(ok.node("Foo", ["A"], ["B"], zeta=1, alpha=300))
    assert node == h.make_node("Foo", ["A"], ["B"], zeta=1, alpha=300)


def test_type_codes_are_onnx_s():
    onnx = onnx_or_skip("the type codes are checked with the 'onnx' "
                               "extra")
    tp = onnx.TensorProto
    assert (ok.FLOAT, ok.UINT8, ok.INT8, ok.INT32, ok.FLOAT16, ok.BFLOAT16) == (
        tp.FLOAT, tp.UINT8, tp.INT8, tp.INT32, tp.FLOAT16, tp.BFLOAT16)
    with pytest.raises(ValueError):
        ok.node("Foo", [], [], bar=-1)


def test_one_session_per_process_thread_count_and_key(ort):
    built = []

    def build():
        built.append(1)
        return _add_model()

    run = ok.session(("test", "add"), build, 1)
    assert ok.session(("test", "add"), build, 1) is run and len(built) == 1
    assert ok.session(("test", "add"), build, 2) is not run
    assert ok.session(("test", "other"), build, 1) is not run and len(built) == 3
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run(["Y"], {"X": x})[0], x + x)


def _child(queue):
    run = ok.session(("test", "add"), _add_model, 1)
    x = np.ones((1, 3), np.float32)
    queue.put((os.getpid(), len([k for k in ok._sessions if k[0] == os.getpid()]),
               run(["Y"], {"X": x})[0].tolist()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_makes_its_own_session(ort):
    ok.session(("test", "add"), _add_model, 1)  # the parent's, inherited by the child
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue,))
    proc.start()
    pid, own, y = queue.get(timeout=60)
    proc.join(60)
    assert proc.exitcode == 0 and pid != os.getpid()
    assert own == 1 and y == [[2.0, 2.0, 2.0]]


def test_without_onnxruntime_sessions_raise(monkeypatch):
    monkeypatch.setattr(ok, "_ort", False)
    assert not ok.available()
    with pytest.raises(RuntimeError, match="onnx"):
        ok.session(("test", "missing"), _add_model, 1)


def test_tensor_equals_numpy_helpers_and_refuses_other_dtypes():
    onnx = onnx_or_skip("comparing with onnx.numpy_helper needs the 'onnx' extra")
    for arr in (np.arange(6, dtype=np.int8).reshape(2, 3) - 3, np.ones((), np.float32),
                np.array([7, 255], np.uint8), np.arange(4, dtype=np.int32)[::2],
                np.linspace(-1, 1, 5).astype(np.float16)):
        got = onnx.TensorProto()
        got.ParseFromString(ok.tensor("w", arr))
        assert got == onnx.numpy_helper.from_array(arr.copy(order="C"), "w")
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(got), arr)
    for bad in (np.zeros(2, np.float64), np.zeros(2, ">f4")):
        with pytest.raises(ValueError, match="no ONNX encoding"):
            ok.tensor("w", bad)


def test_a_model_constant_is_read_by_the_session(ort):
    w = np.array([[1.5, -2.0, 0.25]], np.float32)
    model = ok.model_bytes([ok.node("Mul", ["X", "W"], ["Y"])], [("X", ok.FLOAT, ("N", 3))],
                           [("Y", ok.FLOAT, ("N", 3))], "scaling", 13, [ok.tensor("W", w)])
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for spin in (False, True):
        run = ok.new_session(model, 2, spin_in_run=spin, basic_optimizations=spin)
        np.testing.assert_array_equal(run(["Y"], {"X": x})[0], x * w)
