"""Bitwise ops and shifts: PyTorch's promotion, out-of-range shifts, operators, refusals."""

import numpy as np
import pytest

import torchlite

INT_DTYPES = [torchlite.uint8, torchlite.int8, torchlite.int16, torchlite.int32, torchlite.int64]


def test_shift_operators_and_functions():
    i = torchlite.tensor([1, -2, 3])
    assert (i << 1).tolist() == [2, -4, 6] and (i >> 1).tolist() == [0, -1, 1]
    assert (1 << torchlite.tensor([0, 1, 3])).tolist() == [1, 2, 8]
    assert (16 >> torchlite.tensor([0, 1, 3])).tolist() == [16, 8, 2]
    assert torchlite.bitwise_left_shift(i, 2).tolist() == [4, -8, 12]
    assert torchlite.bitwise_right_shift(torchlite.tensor([-8]), 1).tolist() == [-4]
    assert (i << torchlite.tensor([1, 2, 3])).tolist() == [2, -8, 24]
    assert i.bitwise_left_shift(1).tolist() == [2, -4, 6]


def test_shift_out_of_range_and_wrapping():
    assert (torchlite.tensor([1, -1]) << 64).tolist() == [0, 0]
    assert (torchlite.tensor([-8, 8]) >> 70).tolist() == [-1, 0]
    assert (torchlite.tensor([1, 2]) << torchlite.tensor([-1, 65])).tolist() == [0, 0]
    u = torchlite.tensor([1, 2, 250], dtype=torchlite.uint8)
    r = u << 1
    assert r.dtype == torchlite.uint8 and r.tolist() == [2, 4, 244]
    assert (u << 7).tolist() == [128, 0, 0]


def test_inplace_forms():
    t = torchlite.tensor([1, 2, 3])
    t <<= 2
    assert t.tolist() == [4, 8, 12]
    t >>= 1
    t |= 1
    t ^= 3
    t &= 6
    assert t.tolist() == [0, 6, 4]
    t.bitwise_left_shift_(1)
    assert t.tolist() == [0, 12, 8]


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=str)
def test_and_or_xor_not_keep_integer_dtypes(dtype):
    a = torchlite.tensor([1, 2, 3], dtype=dtype)
    b = torchlite.tensor([3, 6, 1], dtype=dtype)
    for f, ref in ((torchlite.bitwise_and, np.bitwise_and), (torchlite.bitwise_or, np.bitwise_or),
                   (torchlite.bitwise_xor, np.bitwise_xor)):
        r = f(a, b)
        assert r.dtype == dtype
        assert r.tolist() == ref(a.numpy(), b.numpy()).tolist()
    assert (~a).tolist() == np.invert(a.numpy()).tolist()


def test_promotion_as_pytorch():
    i = torchlite.tensor([1, 2, 3])
    b = torchlite.tensor([True, False, True])
    u = torchlite.tensor([1, 2, 250], dtype=torchlite.uint8)
    assert (i & b).dtype == torchlite.int64
    assert (b & b).dtype == torchlite.bool
    assert (b | 1).dtype == torchlite.int64
    assert (u & i).dtype == torchlite.int64
    assert (u & 300).tolist() == [0, 0, 40] and (u & 300).dtype == torchlite.uint8
    assert (b << 1).tolist() == [2, 0, 2]


def test_floats_are_refused_as_pytorch():
    f = torchlite.ones(2)
    for call in (lambda: f & 1, lambda: torchlite.bitwise_and(f, f), lambda: f << 1,
                 lambda: torchlite.tensor([1]) & torchlite.tensor([1.0]),
                 lambda: torchlite.tensor([1]) << 1.5, lambda: torchlite.bitwise_not(f)):
        with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
            call()
    with pytest.raises(RuntimeError, match="Bool"):
        torchlite.tensor([True]) << torchlite.tensor([True])


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dt in ("uint8", "int8", "int16", "int32", "int64"):
        a = rng.integers(0 if dt == "uint8" else -100, 100, 50).astype(dt)
        s = rng.integers(-2, 70, 50).astype(dt) if dt != "uint8" else rng.integers(0, 12, 50)
        s = s.astype(dt)
        for op in ("bitwise_left_shift", "bitwise_right_shift", "bitwise_and", "bitwise_or",
                   "bitwise_xor"):
            got = getattr(torchlite, op)(torchlite.tensor(a), torchlite.tensor(s))
            exp = getattr(torch, op)(torch.tensor(a), torch.tensor(s))
            assert got.tolist() == exp.tolist(), (dt, op)
            got = getattr(torchlite, op)(torchlite.tensor(a), 3)
            exp = getattr(torch, op)(torch.tensor(a), 3)
            assert got.tolist() == exp.tolist() and str(got.dtype)[-5:] == str(exp.dtype)[-5:]
