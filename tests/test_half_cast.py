"""torchlite._half_cast: the vectorised conversions give NumPy's (float16) and ml_dtypes'
(bfloat16) bits on every input class: all 65,536 16-bit patterns upward; downward, millions of
float32 patterns spread over the whole range plus every tie, the overflow and subnormal edges,
zeros, infinities and NaNs. Every test runs twice: on the NumPy routines and, where
onnxruntime is installed, with the large float16 casts on its Cast kernel."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from _onnx_package import onnx_or_skip

from torchlite import _half_cast as hc


@pytest.fixture(autouse=True, params=["numpy", "auto"])
def kernel(request):
    """The conversions' kernel for one run of a test, restored afterwards."""
    if request.param == "auto":
        pytest.importorskip("onnxruntime", reason="the onnxruntime casts need the 'onnx' extra "
                            "(onnxruntime)")
    before = hc.get_half_cast_kernel()
    hc.set_half_cast_kernel(request.param)
    yield request.param
    hc.set_half_cast_kernel(before)


U16 = np.arange(1 << 16, dtype=np.uint16)


def _bits32(x):
    return np.ascontiguousarray(x).view(np.uint32)


def _spread(step: int, seed: int = 0) -> np.ndarray:
    """Every `step`-th float32 bit pattern, each moved by a random offset below `step`."""
    rng = np.random.default_rng(seed)
    base = np.arange(0, 1 << 32, step, dtype=np.uint64)
    return (base + rng.integers(0, step, base.size, dtype=np.uint64)).astype(np.uint32)


def _edges(low_bits: int) -> np.ndarray:
    """float32 patterns where rounding away `low_bits` bits is hardest: each exponent, both
    signs, the dropped bits at a tie, just under and just over it, all zero and all one, with
    the kept part even and odd."""
    tie = 1 << (low_bits - 1)
    low = np.array([0, 1, tie - 1, tie, tie + 1, (1 << low_bits) - 1], dtype=np.uint32)
    kept = np.array([0, 1, 2, 3, (1 << (23 - low_bits)) - 2, (1 << (23 - low_bits)) - 1],
                    dtype=np.uint32) << np.uint32(low_bits)
    exps = np.arange(256, dtype=np.uint32) << np.uint32(23)
    mant = (kept[:, None] | low[None, :]).ravel()
    out = (exps[:, None] | mant[None, :]).ravel()
    return np.concatenate([out, out | np.uint32(0x80000000)])


SPECIAL = np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7F800001, 0xFF800001, 0x7FC00000,
                    0xFFC00000, 0x7FFFFFFF, 0xFFFFFFFF, 0x7F802000, 0x7FBFE000, 0x477FE000,
                    0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000, 0x33000000, 0x33000001,
                    0x32FFFFFF, 0x387FC000, 0x387FE000, 0x38800000, 0x00000001, 0x007FFFFF,
                    0x7F7FFFFF, 0x7F7F8000, 0x7F7F7FFF], dtype=np.uint32)


def _patterns(step: int, seed: int = 0) -> np.ndarray:
    return np.concatenate([SPECIAL, _edges(13), _edges(16), _spread(step, seed)])


def test_float16_up_every_value():
    h = U16.view(np.float16)
    with np.errstate(invalid="ignore"):
        ref = h.astype(np.float32)
    assert np.array_equal(_bits32(hc.float16_to_float32(h)), _bits32(ref))


@pytest.mark.parametrize("shape", [(0,), (3, 0), (), (5,), (7, 9)])
def test_float16_up_shapes(shape):
    h = np.random.default_rng(0).standard_normal(shape).astype(np.float16)
    out = hc.float16_to_float32(h)
    assert out.shape == h.shape and out.dtype == np.float32
    assert np.array_equal(_bits32(out), _bits32(h.astype(np.float32)))


def test_float16_down_bits_and_float32_values():
    x = _patterns(256).view(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x.astype(np.float16)
    out, values = hc.float32_to_float16(x)
    assert out.dtype == np.float16
    assert np.array_equal(out.view(np.uint16), ref.view(np.uint16))
    assert np.array_equal(_bits32(values), _bits32(ref.astype(np.float32)))


def test_float16_down_strided_and_shaped():
    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)[:, ::2].T
    out, values = hc.float32_to_float16(x)
    assert out.shape == values.shape == x.shape
    assert np.array_equal(out.view(np.uint16), x.astype(np.float16).view(np.uint16))
    out, values = hc.float32_to_float16(np.float32(70000.0).reshape(()))
    assert out.shape == () and np.isinf(out) and np.isinf(values)


@pytest.fixture
def bf16():
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 needs the bf16 extra")
    return np.dtype(ml_dtypes.bfloat16)


def test_bfloat16_up_every_value(bf16):
    b = U16.view(bf16)
    assert np.array_equal(_bits32(hc.bfloat16_to_float32(b)), _bits32(b.astype(np.float32)))


def test_bfloat16_down_bits_and_float32_values(bf16):
    x = _patterns(256).view(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x.astype(bf16)
    out, values = hc.float32_to_bfloat16(x, bf16)
    assert out.dtype == bf16
    assert np.array_equal(out.view(np.uint16), ref.view(np.uint16))
    assert np.array_equal(_bits32(values), _bits32(ref.astype(np.float32)))


def test_bfloat16_shapes(bf16):
    x = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32).T
    out, values = hc.float32_to_bfloat16(x, bf16)
    assert out.shape == values.shape == x.shape
    assert np.array_equal(out.view(np.uint16), x.astype(bf16).view(np.uint16))
    b = hc.bfloat16_to_float32(out[:, ::2])
    assert np.array_equal(_bits32(b), _bits32(out[:, ::2].astype(np.float32)))


def test_rounding_only_gives_the_round_trip_bits(bf16):
    x = _patterns(1024, seed=3).view(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        ref16 = x.astype(np.float16).astype(np.float32)
        refbf = x.astype(bf16).astype(np.float32)
    assert np.array_equal(_bits32(hc.round_to_float16(x)), _bits32(ref16))
    assert np.array_equal(_bits32(hc.round_to_bfloat16(x)), _bits32(refbf))
    y = x[:4096].reshape(64, 64).T
    with np.errstate(invalid="ignore", over="ignore"):
        ref = y.astype(np.float16).astype(np.float32)
    assert np.array_equal(_bits32(hc.round_to_float16(y)), _bits32(ref))


# -- onnxruntime's casts --------------------------------------------------------------------------
def test_kernel_name_follows_the_setting(kernel):
    assert hc.half_cast_kernel_name() == ("NumPy" if kernel == "numpy" else "onnxruntime Cast")
    with pytest.raises(ValueError, match="set_half_cast_kernel"):
        hc.set_half_cast_kernel("fast")


def _nan_bits32() -> np.ndarray:
    """float32 NaNs, both signs, quiet and signalling, with payloads in the bits float16 keeps,
    in those it drops, and in both, among ordinary values."""
    rng = np.random.default_rng(5)
    payload = rng.integers(1, 1 << 22, 3000, dtype=np.uint32)
    payload[:4] = 1, 1 << 13, (1 << 22) - 1, 1 << 21
    nan = np.uint32(0x7F800000) | payload | (rng.integers(0, 2, 3000, dtype=np.uint32)
                                            << np.uint32(22))
    nan |= rng.integers(0, 2, 3000, dtype=np.uint32) << np.uint32(31)
    out = rng.standard_normal(9000).astype(np.float32).view(np.uint32)
    out[::3] = nan
    return out


def test_nan_payloads_down_and_up(kernel):
    x = _nan_bits32().view(np.float32)
    with np.errstate(invalid="ignore"):
        ref = x.astype(np.float16)
    out, values = hc.float32_to_float16(x)
    assert np.array_equal(out.view(np.uint16), ref.view(np.uint16))
    assert np.array_equal(_bits32(values), _bits32(ref.astype(np.float32)))
    assert np.array_equal(_bits32(hc.round_to_float16(x)), _bits32(ref.astype(np.float32)))
    h = np.tile(U16[0x7C00:0x8000], 4).view(np.float16)  # every float16 NaN, signalling too
    h[1::2] = np.float16(1.5)
    assert np.array_equal(_bits32(hc.float16_to_float32(h)), _bits32(h.astype(np.float32)))


def test_large_shaped_and_strided(kernel):
    x = np.random.default_rng(6).standard_normal((80, 96)).astype(np.float32)[:, ::2].T * 1e4
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16)
    out, values = hc.float32_to_float16(x)
    assert out.shape == values.shape == x.shape == (48, 80)
    assert np.array_equal(out.view(np.uint16), ref.view(np.uint16))
    assert np.array_equal(_bits32(values), _bits32(ref.astype(np.float32)))
    assert np.array_equal(_bits32(hc.round_to_float16(x)), _bits32(values))
    up = hc.float16_to_float32(ref.T[::2])
    assert up.shape == (40, 48)
    assert np.array_equal(_bits32(up), _bits32(ref.T[::2].astype(np.float32)))
    # the results are the caller's own, writeable arrays
    values += 1.0
    out[0, 0] = 0
    up[0] = 0


def test_cast_models_equal_onnx_helpers_models():
    pytest.importorskip("onnxruntime", reason="the onnxruntime casts need the 'onnx' extra")
    onnx = onnx_or_skip("comparing with onnx.helper needs the 'onnx' "
                               "extra")
    h, tp = onnx.helper, onnx.TensorProto

    def vi(name, elem):
        return h.make_tensor_value_info(name, elem, ["N"])

    down = h.make_node("Cast", ["X"], ["Y"], to=tp.FLOAT16)
    back = h.make_node("Cast", ["Y"], ["Z"], to=tp.FLOAT)
    graphs = {
        "both": h.make_graph([down, back], "float16_both", [vi("X", tp.FLOAT)],
                             [vi("Y", tp.FLOAT16), vi("Z", tp.FLOAT)]),
        "round": h.make_graph([down, back], "float16_round", [vi("X", tp.FLOAT)],
                              [vi("Z", tp.FLOAT)]),
        "up": h.make_graph([h.make_node("Cast", ["X"], ["Y"], to=tp.FLOAT)], "float16_up",
                           [vi("X", tp.FLOAT16)], [vi("Y", tp.FLOAT)]),
    }
    for name, graph in graphs.items():
        want = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)],
                            producer_name="torchlite", ir_version=7)
        got = onnx.load_from_string(hc._cast_model(name))
        onnx.checker.check_model(got)
        assert got == want, name


def test_threads_share_the_sessions(kernel):
    rng = np.random.default_rng(7)
    xs = [(rng.standard_normal(50_000) * 10.0 ** rng.integers(-6, 6)).astype(np.float32)
          for _ in range(8)]
    with np.errstate(over="ignore"):
        want = [x.astype(np.float16).view(np.uint16) for x in xs]
    bad = []

    def work(i):
        for _ in range(20):
            out, values = hc.float32_to_float16(xs[i])
            if not np.array_equal(out.view(np.uint16), want[i]):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def _run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != hc.ENV_VAR} | env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=full).stdout.strip()


def test_environment_variable_forces_the_numpy_routines():
    code = ("from torchlite import _half_cast as hc; "
            "print(hc.get_half_cast_kernel(), hc.half_cast_kernel_name())")
    assert _run(code, TORCHLITE_HALF_CAST_KERNEL="numpy") == "numpy NumPy"


def test_small_casts_and_imports_leave_onnxruntime_unloaded():
    code = ("import sys, numpy as np, torchlite; from torchlite import _half_cast as hc; "
            "hc.float32_to_float16(np.ones(100, np.float32)); "
            "print('onnxruntime' in sys.modules)")
    assert _run(code) == "False"


def test_without_onnxruntime_the_numpy_routines_serve(monkeypatch):
    from torchlite import _ort_kernels

    monkeypatch.setattr(_ort_kernels, "_ort", False)
    hc.set_half_cast_kernel("auto")
    assert hc.half_cast_kernel_name() == "NumPy"
    x = np.random.default_rng(8).standard_normal(5000).astype(np.float32)
    out, _ = hc.float32_to_float16(x)
    assert np.array_equal(out.view(np.uint16), x.astype(np.float16).view(np.uint16))


# -- the bfloat16 rounding in chunks on torchlite's threads ----------------------------------------
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_bfloat16_chunked_rounding_gives_the_single_call_bits(bf16, monkeypatch, threads):
    from torchlite import _parallel

    x = _patterns(4096, seed=9).view(np.float32)[:-3]  # an odd size, every class, NaNs too
    monkeypatch.setattr(_parallel, "_threads", 1)
    whole = hc.round_to_bfloat16(x)
    out_whole, _ = hc.float32_to_bfloat16(x, bf16)
    monkeypatch.setattr(_parallel, "_threads", threads)
    monkeypatch.setattr(hc, "_BF16_PARALLEL_MIN", 1000)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x.astype(bf16)
    for y, want in ((x, whole), (x[1:], whole[1:])):  # the second one starts off alignment
        assert np.array_equal(_bits32(hc.round_to_bfloat16(y)), _bits32(want))
    out, values = hc.float32_to_bfloat16(x, bf16)
    assert np.array_equal(out.view(np.uint16), ref.view(np.uint16))
    assert np.array_equal(out.view(np.uint16), out_whole.view(np.uint16))
    assert np.array_equal(_bits32(values), _bits32(whole))
    # a strided, transposed view: chunks of its contiguous copy
    y = x[: 600 * 701].reshape(600, 701)[:, ::3].T
    with np.errstate(invalid="ignore", over="ignore"):
        want = y.astype(bf16).astype(np.float32)
    got = hc.round_to_bfloat16(y)
    assert got.shape == y.shape and np.array_equal(_bits32(got), _bits32(want))


def test_bfloat16_rounding_from_several_threads(bf16, monkeypatch):
    from torchlite import _parallel

    monkeypatch.setattr(_parallel, "_threads", 2)
    monkeypatch.setattr(hc, "_BF16_PARALLEL_MIN", 1000)
    rng = np.random.default_rng(10)
    xs = [(rng.standard_normal(150_001) * 10.0 ** rng.integers(-30, 30)).astype(np.float32)
          for _ in range(4)]
    want = [x.astype(bf16).view(np.uint16) for x in xs]
    bad = []

    def work(i):
        for _ in range(5):
            out, _ = hc.float32_to_bfloat16(xs[i], bf16)
            if not np.array_equal(out.view(np.uint16), want[i]):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_float16_numpy_chunks_give_the_single_call_bits(monkeypatch, threads):
    from torchlite import _parallel

    hc.set_half_cast_kernel("numpy")  # (the kernel fixture restores the setting)
    x = _patterns(4096, seed=11).view(np.float32)[:-5]  # odd size; NaN, inf and overflow too
    monkeypatch.setattr(_parallel, "_threads", threads)
    monkeypatch.setattr(hc, "_F16_PARALLEL_MIN", 1000)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x.astype(np.float16)
    for y, want in ((x, ref), (x[3:], ref[3:])):
        out, values = hc.float32_to_float16(y)
        assert np.array_equal(out.view(np.uint16), want.view(np.uint16))
        assert np.array_equal(_bits32(values), _bits32(want.astype(np.float32)))
        assert np.array_equal(_bits32(hc.round_to_float16(y)), _bits32(values))
    finite = x[np.abs(x) < 60000.0]  # no element for the fix-up pass: the chunks' own bits
    out, values = hc.float32_to_float16(finite)
    assert np.array_equal(out.view(np.uint16), finite.astype(np.float16).view(np.uint16))
    y = x[: 600 * 701].reshape(600, 701)[:, ::3].T
    with np.errstate(invalid="ignore", over="ignore"):
        want = y.astype(np.float16)
    out, values = hc.float32_to_float16(y)
    assert out.shape == y.shape and np.array_equal(out.view(np.uint16), want.view(np.uint16))
