"""torchlite._half_cast: the vectorised conversions give NumPy's (float16) and ml_dtypes'
(bfloat16) bits on every input class: all 65,536 16-bit patterns upward; downward, millions of
float32 patterns spread over the whole range plus every tie, the overflow and subnormal edges,
zeros, infinities and NaNs."""

import numpy as np
import pytest

from torchlite import _half_cast as hc

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
