"""The onnxruntime int8 GEMM (ao/quantization/int8_gemm_ort.py) and its use by the quantized
layers: the same integers as the float32-BLAS path, bit for bit, on random and extreme inputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _onnx_package import onnx_or_skip

import torchlite as tl
from torchlite import nn
from torchlite.ao import quantization as tq
from torchlite.ao.quantization import int8_matmul as im
from torchlite.nn.quantized.modules import linear_kernels as lk


@pytest.fixture
def go():
    """The onnxruntime kernel module; skips where onnxruntime is not installed."""
    pytest.importorskip("onnxruntime", reason="the int8 GEMM kernel needs the 'onnx' extra "
                        "(onnxruntime)")
    from torchlite.ao.quantization import int8_gemm_ort

    return int8_gemm_ort


@pytest.fixture
def kernel(go):
    """Run a callable once per kernel choice and restore the setting afterwards."""
    before = im.get_int8_kernel()

    def both(fn):
        out = []
        # float32 BLAS again last: after the integer GEMM packed the weight it still agrees
        for name in ("numpy", "auto", "numpy"):
            im.set_int8_kernel(name)
            out.append(fn())
        np.testing.assert_array_equal(out[2], out[0])
        return out[0], out[1]

    yield both
    im.set_int8_kernel(before)


def test_model_bytes_equal_onnx_helpers_model(go):
    onnx = onnx_or_skip("comparing with onnx.helper needs the 'onnx' "
                               "extra")
    h, tp = onnx.helper, onnx.TensorProto
    for code, elem in ((go._INT8, tp.INT8), (go._UINT8, tp.UINT8)):
        node = h.make_node("MatMulInteger", ["A", "B", "a_zero_point", "b_zero_point"], ["Y"],
                           name="matmul")
        graph = h.make_graph(
            [node], "int8_gemm",
            [h.make_tensor_value_info("A", tp.UINT8, ["M", "K"]),
             h.make_tensor_value_info("B", elem, ["K", "N"]),
             h.make_tensor_value_info("a_zero_point", tp.UINT8, [1]),
             h.make_tensor_value_info("b_zero_point", elem, ["Z"])],
            [h.make_tensor_value_info("Y", tp.INT32, ["M", "N"])])
        want = h.make_model(graph, opset_imports=[h.make_opsetid("", 10)],
                            producer_name="torchlite", ir_version=7)
        got = onnx.load_from_string(go.model_bytes(code))
        onnx.checker.check_model(got)
        assert got == want


@pytest.mark.parametrize("full_range", [False, True])
def test_matmul_integer_is_exact_at_the_extremes(go, full_range):
    # all-max activations against all -128 weights: the sums the u8s8 kernel could saturate
    k, n = 1500, 24
    amax = 255 if full_range else 127
    a = np.full((5, k), amax, np.uint8)
    w = np.full((n, k), -128, np.int8)
    w[::2, ::3] = 127
    for zp_a in (0, 3):
        g = im.GemmWeight(w, [0], full_range)
        want = (a.astype(np.int64) - zp_a) @ w.T.astype(np.int64)
        np.testing.assert_array_equal(g.matmul(a, zp_a), want)


def test_gemm_weight_is_int8_sized_and_offset_for_full_range():
    w = np.arange(-128, 128, dtype=np.int8).reshape(16, 16)
    small, full = im.GemmWeight(w, [0], False), im.GemmWeight(w, [0], True)
    assert small.b.dtype == np.int8 and small.b.flags.c_contiguous
    np.testing.assert_array_equal(small.b, w.T)
    assert full.b.dtype == np.uint8 and full.zero_point.tolist() == [128]
    np.testing.assert_array_equal(full.b.astype(np.int16) - 128, w.T)
    per_channel = im.GemmWeight(w, np.arange(16) - 8, True)
    assert per_channel.zero_point.dtype == np.uint8 and per_channel.zero_point.shape == (16,)


def _weight(rng, n, k, per_channel, extreme=False):
    if extreme:
        w = tl.from_numpy(np.full((n, k), -1.0, np.float32))
    else:
        w = tl.from_numpy(rng.standard_normal((n, k)).astype(np.float32))
    if per_channel:  # the extreme weights saturate to -128 in every channel
        scales = tl.from_numpy(np.linspace(0.002, 0.0078, n) if extreme else
                               np.linspace(0.004, 0.02, n))
        zps = tl.from_numpy((np.arange(n) % 5 - 2).astype(np.int64))
        return tl.quantize_per_channel(w, scales, zps, 0, tl.qint8)
    return tl.quantize_per_tensor(w, 1.0 / 128 if extreme else 0.01, 0, tl.qint8)


SHAPES = [(1, 7, 5), (3, 2000, 9), (128, 64, 33), (4, 1, 1)]


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("reduce_range", [True, False])
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_dynamic_linear_same_bits_on_both_kernels(kernel, m, k, n, per_channel, reduce_range):
    rng = np.random.default_rng(m * k + n)
    layer = nn.quantized.dynamic.Linear(k, n, per_channel=per_channel,
                                        reduce_range=reduce_range)
    bias = tl.from_numpy(rng.standard_normal(n).astype(np.float32))
    layer.set_weight_bias(_weight(rng, n, k, per_channel), bias)
    for x in (rng.standard_normal((m, k)).astype(np.float32) * 3,
              np.abs(rng.standard_normal((2, m, k))).astype(np.float32),
              np.full((m, k), 7.5, np.float32)):
        pure, fast = kernel(lambda x=x: layer(tl.from_numpy(x)).numpy())
        np.testing.assert_array_equal(fast, pure)
    assert layer._packed_params.__dict__.get("_gemm_cache")  # the integer GEMM did run


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_static_linear_same_bits_on_both_kernels(kernel, m, k, n, per_channel):
    rng = np.random.default_rng(m + k * n)
    layer = nn.quantized.Linear(k, n, per_channel=per_channel)
    layer.set_weight_bias(_weight(rng, n, k, per_channel),
                          tl.from_numpy(rng.standard_normal(n).astype(np.float32)))
    layer._set_output(0.05 * k ** 0.5, 100)
    xs = [tl.quantize_per_tensor(tl.from_numpy(rng.standard_normal((m, k)).astype(np.float32)),
                                 0.02, 128, tl.quint8)]
    for relu in (False, True):
        layer._relu = relu
        for x in xs:
            pure, fast = kernel(lambda x=x: layer(x).int_repr().numpy())
            np.testing.assert_array_equal(fast, pure)
    assert layer._packed_params.__dict__.get("_gemm_cache")


@pytest.mark.parametrize("per_channel", [False, True])
def test_static_linear_all_255_against_all_minus_128(kernel, per_channel):
    k, n = 2000, 6
    rng = np.random.default_rng(1)
    layer = nn.quantized.Linear(k, n, per_channel=per_channel)
    layer.set_weight_bias(_weight(rng, n, k, per_channel, extreme=True), None)
    layer._set_output(5000.0, 255)
    x = tl.quantize_per_tensor(tl.from_numpy(np.full((3, k), 1e3, np.float32)), 1.0, 0,
                               tl.quint8)
    assert int(x.int_repr().numpy().min()) == 255
    assert int(layer.weight().int_repr().numpy().max()) == -128
    pure, fast = kernel(lambda: layer(x).int_repr().numpy())
    np.testing.assert_array_equal(fast, pure)
    assert 0 < pure.min() < 255  # in range, so the comparison sees the integers


def test_requantize_equals_quantize_array_then_relu():
    from torchlite.ao.quantization.qtensor import quantize_array

    rng = np.random.default_rng(2)
    layer = nn.quantized.Linear(8, 5)
    layer.set_weight_bias(_weight(rng, 5, 8, False),
                          tl.from_numpy(rng.standard_normal(5).astype(np.float32)))
    packed = layer._packed_params
    acc = rng.integers(-3000, 3000, (7, 5)).astype(np.int32)
    for relu in (False, True):
        got = lk.requantize(np, acc, 0.03, packed, 0.02, 90, relu, tl.quint8, -1)
        w_scale = packed.weight_scale._data.astype(np.float32)
        y = acc.astype(np.float32) * (np.float32(0.03) * w_scale) + packed.bias._data
        want = quantize_array(np, y, np.float32(1) / np.float32(0.02), np.float32(90),
                              tl.quint8)
        if relu:
            want = np.maximum(want, np.uint8(90))
        np.testing.assert_array_equal(got, want)


def test_quantized_mlp_outputs_identical_with_the_kernel_on_and_off(kernel):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10)).eval()
    q = tq.quantize_dynamic(model, {nn.Linear}, dtype=tl.qint8)
    x = tl.from_numpy(np.random.default_rng(3).standard_normal((128, 784)).astype(np.float32))
    with tl.no_grad():
        pure, fast = kernel(lambda: q(x).numpy())
    np.testing.assert_array_equal(fast, pure)


def test_packed_weight_follows_load_state_dict(go):
    rng = np.random.default_rng(4)
    a, b = nn.quantized.dynamic.Linear(16, 4), nn.quantized.dynamic.Linear(16, 4)
    a.set_weight_bias(_weight(rng, 4, 16, False), None)
    b.set_weight_bias(_weight(rng, 4, 16, False), None)
    x = tl.from_numpy(rng.standard_normal((3, 16)).astype(np.float32))
    before = a(x).numpy()
    a.load_state_dict(b.state_dict())
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    assert not np.array_equal(a(x).numpy(), before)


def test_one_session_per_thread_count(go):
    one = go.session(np.int8, threads=1)
    assert go.session(np.int8, threads=1) is one
    assert go.session(np.int8, threads=2) is not one
    assert go.session(np.uint8, threads=1) is not one


def test_small_products_run_on_one_thread_with_the_same_integers(go, monkeypatch):
    from torchlite import _parallel

    rng = np.random.default_rng(9)
    saved = _parallel._threads, _parallel._user_set
    used = []
    session = go.session
    monkeypatch.setattr(go, "session", lambda dtype, threads=None: used.append(threads) or
                        session(dtype, threads))
    try:
        tl.set_num_threads(2)
        for m, k, n in ((128, 256, 10), (128, 512, 256), (128, 784, 512), (64, 1024, 600)):
            a = rng.integers(0, 128, (m, k)).astype(np.uint8)
            b = rng.integers(-128, 128, (k, n)).astype(np.int8)
            zp_a, zp_b = np.full(1, 3, np.uint8), np.full(1, -2, np.int8)
            want = (a.astype(np.int64) - 3) @ (b.astype(np.int64) + 2)
            got = go.matmul_integer(a, zp_a, b, zp_b)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(session(np.int8, 2)(["Y"], {
                "A": a, "B": b, "a_zero_point": zp_a, "b_zero_point": zp_b})[0], want)
    finally:
        _parallel._threads, _parallel._user_set = saved
        _parallel._limit_blas(_parallel.get_num_threads())
    # below SERIAL_MACS one thread, from it the intra-op count
    assert used == [1, 1, None, None]


def test_kernel_choice_and_name(go):
    with pytest.raises(ValueError, match="set_int8_kernel"):
        im.set_int8_kernel("fast")
    before = im.get_int8_kernel()
    try:
        im.set_int8_kernel("numpy")
        assert im.kernel_name() == "float32 BLAS" and not im.use_integer_gemm(np)
        im.set_int8_kernel("auto")
        assert im.kernel_name() == "onnxruntime MatMulInteger"
    finally:
        im.set_int8_kernel(before)


def test_without_onnxruntime_the_float32_path_serves(monkeypatch):
    from torchlite import _ort_kernels

    monkeypatch.setattr(_ort_kernels, "_ort", False)
    monkeypatch.setattr(im, "_gemm", None)
    monkeypatch.setattr(im._switch, "value", "auto")
    assert im.kernel_name() == "float32 BLAS" and not im.use_integer_gemm(np)
    rng = np.random.default_rng(8)
    layer = nn.quantized.dynamic.Linear(16, 4)
    layer.set_weight_bias(_weight(rng, 4, 16, False), None)
    x = rng.standard_normal((3, 16)).astype(np.float32)
    assert layer(tl.from_numpy(x)).shape == (3, 4)
    assert not layer._packed_params.__dict__.get("_gemm_cache")
    with pytest.raises(RuntimeError, match="onnx"):
        im.GemmWeight(np.zeros((2, 2), np.int8), [0], False).matmul(np.zeros((1, 2), np.uint8), 0)


def test_environment_variable_forces_the_float32_path():
    code = ("from torchlite.ao.quantization import int8_matmul as im; "
            "print(im.get_int8_kernel(), im.kernel_name())")
    env = {"TORCHLITE_INT8_KERNEL": "numpy", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.split() == ["numpy", "float32", "BLAS"]


def test_imports_leave_onnxruntime_unloaded():
    code = ("import sys, torchlite, torchlite.ao.quantization, "
            "torchlite.ao.quantization.int8_matmul, torchlite.nn.quantized; "
            "print('onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_packed_layer_holds_its_weight_once_and_saves_and_copies(go, tmp_path):
    import copy

    rng = np.random.default_rng(5)
    layer = nn.quantized.dynamic.Linear(32, 8)
    layer.set_weight_bias(_weight(rng, 8, 32, False),
                          tl.from_numpy(rng.standard_normal(8).astype(np.float32)))
    want = layer.weight().int_repr().numpy().copy()
    x = tl.from_numpy(rng.standard_normal((4, 32)).astype(np.float32))
    y = layer(x).numpy()
    packed = layer._packed_params
    assert np.shares_memory(packed.weight._data, packed.gemm_weight(False).b)
    np.testing.assert_array_equal(layer.weight().int_repr().numpy(), want)
    tl.save(layer.state_dict(), tmp_path / "q.safetensors")
    other = nn.quantized.dynamic.Linear(32, 8)
    other.load_state_dict(tl.load(tmp_path / "q.safetensors"))
    np.testing.assert_array_equal(other(x).numpy(), y)
    np.testing.assert_array_equal(copy.deepcopy(layer)(x).numpy(), y)


def test_activation_quantization_skips_saturation_only_when_it_changes_nothing():
    rng = np.random.default_rng(6)
    for trial in range(3000):
        qmax = 127 if trial % 2 else 255
        lo, hi = sorted(rng.standard_normal(2) * 10.0 ** rng.integers(-6, 4))
        if trial % 3 == 0:  # ranges that do not hold 0 get widened to it
            lo, hi = sorted((abs(lo), abs(hi)))
        x = rng.uniform(lo, hi, 64).astype(np.float32)
        x[:2] = np.float32(lo), np.float32(hi)
        lo32, hi32 = float(x.min()), float(x.max())
        scale, zp = lk.choose_qparams(lo32, hi32, 0, qmax)
        inv = np.float32(1) / np.float32(scale)
        raw = np.rint(x * inv + np.float32(zp))
        got = lk._quantize_u8(x, inv, zp, qmax, lo32, hi32)
        np.testing.assert_array_equal(got, np.clip(raw, 0, qmax).astype(np.uint8))
    # qparams that do not fit the range: the saturation runs
    x = np.linspace(-1, 2, 50, dtype=np.float32)
    got = lk._quantize_u8(x, np.float32(100), 3, 127, -1.0, 2.0)
    np.testing.assert_array_equal(got, np.clip(np.rint(x * np.float32(100) + np.float32(3)),
                                               0, 127).astype(np.uint8))
    assert got.min() == 0 and got.max() == 127


# -- the whole dynamic layer as one onnxruntime run (ao/quantization/dynamic_linear_ort.py) --------

@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_dynamic_chain_model_bytes_equal_onnx_helpers_model(per_channel, bias):
    """Two layers with a ReLU between them: the first per channel or not, the second the
    other; per-tensor products as MatMulIntegerToFloat, per-channel ones as MatMulInteger,
    Cast, Mul and Add; the second layer's scale found in the graph."""
    onnx = onnx_or_skip("comparing with onnx.helper needs the 'onnx' extra")
    from torchlite.ao.quantization import dynamic_linear_ort as dl

    h, tp, nh = onnx.helper, onnx.TensorProto, onnx.numpy_helper
    rng = np.random.default_rng(4)
    shapes, kinds, layers = [(6, 3), (3, 2)], [per_channel, not per_channel], []
    for (k, n), channels in zip(shapes, kinds):
        gemm = im.GemmWeight(rng.integers(-128, 128, (n, k)).astype(np.int8),
                             np.arange(n) if channels else [0], False)
        gemm.scale = np.linspace(0.01, 0.03, n).astype(np.float32) if channels else \
            np.float32(0.02)
        layers.append(dl.Layer(gemm, rng.standard_normal(n).astype(np.float32) if bias
                               else None, 127, not layers))
    nodes = [h.make_node("Mul", ["X", "inv_scale"], ["scaled"]),
             h.make_node("Add", ["scaled", "zp_float"], ["shifted"]),
             h.make_node("QuantizeLinear", ["shifted", "one", "zero"], ["A0"])]
    consts = [nh.from_array(np.ones((), np.float32), "one"),
              nh.from_array(np.zeros((), np.uint8), "zero")]
    for i, layer in enumerate(layers):
        if i:
            consts += [nh.from_array(np.array(127, np.float32), "qmax1"),
                       nh.from_array(np.array(6.1e-5, np.float32), "small"),
                       nh.from_array(np.array(0.1, np.float32), "fallback")]
            nodes += [h.make_node("ReduceMax", ["H1"], ["hi1"], keepdims=0),
                      h.make_node("Div", ["hi1", "qmax1"], ["raw_scale1"]),
                      h.make_node("Div", ["one", "raw_scale1"], ["raw_inv1"]),
                      h.make_node("IsInf", ["raw_inv1"], ["overflows1"]),
                      h.make_node("Max", ["raw_scale1", "small"], ["kept_scale1"]),
                      h.make_node("Where", ["overflows1", "fallback", "kept_scale1"],
                                  ["scale1"]),
                      h.make_node("Div", ["one", "scale1"], ["inv1"]),
                      h.make_node("Mul", ["H1", "inv1"], ["scaled1"]),
                      h.make_node("QuantizeLinear", ["scaled1", "one", "zero"], ["A1"])]
        x_scale, zp = ("x_scale", "zp") if i == 0 else ("scale1", "zero")
        out = "pre0" if i == 0 else "Out"
        g = layer.gemm
        if kinds[i]:
            consts += [nh.from_array(g.b, f"B{i}"), nh.from_array(g.zero_point, f"B_zp{i}"),
                       nh.from_array(g.scale, f"w_scale{i}")]
            last = out if not bias else f"unbiased{i}"
            nodes += [h.make_node("MatMulInteger", [f"A{i}", f"B{i}", zp, f"B_zp{i}"],
                                  [f"Y{i}"]),
                      h.make_node("Cast", [f"Y{i}"], [f"Y_float{i}"], to=tp.FLOAT),
                      h.make_node("Mul", [x_scale, f"w_scale{i}"], [f"out_scale{i}"]),
                      h.make_node("Mul", [f"Y_float{i}", f"out_scale{i}"], [last])]
            if bias:
                consts.append(nh.from_array(layer.bias, f"bias{i}"))
                nodes.append(h.make_node("Add", [last, f"bias{i}"], [out]))
        else:
            consts += [nh.from_array(g.b, f"B{i}"),
                       nh.from_array(g.zero_point.reshape(()), f"B_zp{i}"),
                       nh.from_array(np.asarray(g.scale).reshape(()), f"w_scale{i}")]
            if bias:
                consts.append(nh.from_array(layer.bias, f"bias{i}"))
            nodes.append(h.make_node(
                "MatMulIntegerToFloat",
                [f"A{i}", f"B{i}", x_scale, f"w_scale{i}", zp, f"B_zp{i}"]
                + ([f"bias{i}"] if bias else []), [out], domain="com.microsoft"))
        if i == 0:
            nodes.append(h.make_node("Relu", ["pre0"], ["H1"]))
    vi = h.make_tensor_value_info
    graph = h.make_graph(
        nodes, "dynamic_linear",
        [vi("X", tp.FLOAT, ["M", 6]), vi("inv_scale", tp.FLOAT, []),
         vi("zp_float", tp.FLOAT, []), vi("x_scale", tp.FLOAT, []), vi("zp", tp.UINT8, [1])],
        [vi("Out", tp.FLOAT, ["M", 2])], initializer=consts)
    want = h.make_model(graph, producer_name="torchlite", ir_version=7, opset_imports=[
        h.make_opsetid("", 13), h.make_opsetid("com.microsoft", 1)])
    got = onnx.load_from_string(dl.model_bytes(layers))
    assert got == want
    onnx.checker.check_model(got)


def _count_whole_layer_runs(monkeypatch):
    from torchlite.ao.quantization import dynamic_linear_ort as dl

    runs = []
    run = dl.run
    monkeypatch.setattr(dl, "run", lambda *a: runs.append(a[-1]) or run(*a))
    return runs


def test_dynamic_layer_runs_whole_on_onnxruntime_and_rounds_ties_as_numpy(kernel, monkeypatch):
    """Activations whose scaled values land exactly on halves (scale 1/16): round half to
    even in the session as in rint; and the session goes when the weight is replaced."""
    runs = _count_whole_layer_runs(monkeypatch)
    rng = np.random.default_rng(8)
    layer = nn.quantized.dynamic.Linear(40, 12)
    layer.set_weight_bias(_weight(rng, 12, 40, False), None)
    ties = (rng.integers(0, 127, (16, 40)) + 0.5).astype(np.float32) / 16
    ties[0, :2] = 0.0, 127 / 16  # the range [0, 127/16]: scale 1/16, zero point 0
    pure, fast = kernel(lambda: layer(tl.from_numpy(ties)).numpy())
    np.testing.assert_array_equal(fast, pure)
    assert runs, "the whole-layer session did not serve"
    gemm = layer._packed_params.gemm_weight(False)
    assert gemm.sessions
    layer.set_weight_bias(_weight(rng, 12, 40, True), tl.ones(12))
    assert layer._packed_params.gemm_weight(False) is not gemm
    pure2, fast2 = kernel(lambda: layer(tl.from_numpy(ties)).numpy())
    np.testing.assert_array_equal(fast2, pure2)
    assert not np.array_equal(fast2, fast)


def test_dynamic_layer_top_end_near_a_half_takes_the_saturating_path(kernel, monkeypatch):
    """With reduce_range, a top end rounding to 128 would need the clip at 127 that
    QuantizeLinear (saturating at 255) does not do: within 1e-4 of 127.5 the layer quantizes
    with NumPy instead, and the result is still the float32-BLAS path's."""
    runs = _count_whole_layer_runs(monkeypatch)
    rng = np.random.default_rng(9)
    layer = nn.quantized.dynamic.Linear(8, 4)
    layer.set_weight_bias(_weight(rng, 4, 8, False), tl.zeros(4))
    x = rng.uniform(-63, 63, (3, 8)).astype(np.float32)
    x[0, :2] = -63.50005, 63.49995  # scale 1, zero point rint(63.50005) = 64: top 127.49995
    scale, zp = lk.choose_qparams(float(x.min()), float(x.max()), 0, 127)
    assert 127.4999 < float(x.max()) / scale + zp < 127.5
    pure, fast = kernel(lambda: layer(tl.from_numpy(x)).numpy())
    np.testing.assert_array_equal(fast, pure)
    assert not runs
    im.set_int8_kernel("auto")  # the fixture restores the setting afterwards
    layer(tl.from_numpy(x[1:]))
    assert runs  # an ordinary range runs whole


CONVS = [  # (N, C, H, W, Cout, kernel, stride, padding, dilation)
    (1, 1, 8, 8, 4, 3, 1, 1, 1), (2, 3, 9, 7, 5, (3, 2), (2, 1), (1, 2), 1),
    (3, 4, 11, 10, 6, 3, 2, 0, 2), (1, 2, 5, 5, 3, 5, 1, 2, 1), (2, 130, 6, 6, 4, 3, 1, 1, 1),
]


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("conv", CONVS)
def test_conv2d_same_bits_on_both_kernels(kernel, conv, per_channel):
    n, c, h, w, cout, k, stride, padding, dilation = conv
    rng = np.random.default_rng(c * h + cout)
    layer = nn.quantized.Conv2d(c, cout, k, stride, padding, dilation, per_channel=per_channel)
    kk = layer.kernel_size
    wf = tl.from_numpy(rng.standard_normal((cout, c, *kk)).astype(np.float32))
    if per_channel:
        qw = tl.quantize_per_channel(wf, tl.from_numpy(np.linspace(0.005, 0.02, cout)),
                                     tl.from_numpy(np.arange(cout) % 3 - 1), 0, tl.qint8)
    else:
        qw = tl.quantize_per_tensor(wf, 0.01, 0, tl.qint8)
    layer.set_weight_bias(qw, tl.from_numpy(rng.standard_normal(cout).astype(np.float32)))
    layer._set_output(0.1 * (c * kk[0] * kk[1]) ** 0.5, 120)
    xf = tl.from_numpy(rng.standard_normal((n, c, h, w)).astype(np.float32))
    for x in (tl.quantize_per_tensor(xf, 0.02, 131, tl.quint8),
              tl.quantize_per_tensor(xf, 1e-3, 0, tl.quint8)):  # 0 and 255 everywhere
        for relu in (False, True):
            layer._relu = relu
            pure, fast = kernel(lambda x=x: layer(x).int_repr().numpy())
            np.testing.assert_array_equal(fast, pure)
            assert fast.flags.c_contiguous
    assert layer._packed_params.__dict__.get("_gemm_cache")


def test_quantized_cnn_outputs_identical_with_the_kernel_on_and_off(kernel):
    tl.manual_seed(0)
    model = nn.Sequential(tq.QuantStub(), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(16 * 16, 10), tq.DeQuantStub()).eval()
    model.qconfig = tq.get_default_qconfig("x86")
    prepared = tq.prepare(model)
    x = tl.from_numpy(np.random.default_rng(7).standard_normal((16, 1, 8, 8)).astype(
        np.float32))
    with tl.no_grad():
        prepared(x)
        q = tq.convert(prepared)
        pure, fast = kernel(lambda: q(x).numpy())
    np.testing.assert_array_equal(fast, pure)
