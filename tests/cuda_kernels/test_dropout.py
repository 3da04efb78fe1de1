"""Dropout masks from Philox: the generator matches the published test vectors, masks are a
pure function of (seed, offset + i), the uniform-fed mask equals the CPU dropout's, and the
kernels equal the NumPy references (on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite
import torchlite.nn.functional as F
from torchlite._cuda_kernels import dropout as K


def test_philox_known_answers():
    # the Philox4x32-10 known-answer vectors of Salmon et al.'s Random123 distribution
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for ctr, key, want in cases:
        assert tuple(int(w) for w in K.philox4x32(ctr, key)) == want


def test_uniforms_are_a_function_of_seed_and_position():
    u = K.uniform_reference(1001, seed=12345)
    assert u.dtype == np.float32 and (u >= 0).all() and (u < 1).all()
    for offset in (1, 3, 4, 517):
        np.testing.assert_array_equal(K.uniform_reference(1001 - offset, 12345, offset),
                                      u[offset:])
    assert not np.array_equal(K.uniform_reference(1001, seed=12346), u)
    big = K.uniform_reference(200_000, seed=2**63 - 1)
    assert abs(big.mean() - 0.5) < 0.005 and abs((big < 0.25).mean() - 0.25) < 0.005


def test_mask_keeps_about_one_minus_p_and_scales():
    m = K.dropout_mask_reference((400, 250), 0.3, seed=7)
    assert set(np.unique(m)) == {np.float32(0), np.float32(1 / 0.7)}
    assert abs((m > 0).mean() - 0.7) < 0.01
    assert (K.dropout_mask_reference((10,), 1.0, seed=7) == 0).all()
    assert (K.dropout_mask_reference((10,), 0.0, seed=7) == 1).all()
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    y = K.dropout_reference(x, 0.5, seed=3)
    assert y.dtype == np.float64 and np.array_equal(y, x * K.dropout_mask_reference(
        x.shape, 0.5, seed=3, dtype=np.float64))


@pytest.mark.parametrize("p", [0.1, 0.5, 1.0])
def test_mask_from_uniforms_is_the_cpu_dropouts(p):
    x = np.random.default_rng(0).normal(size=(40, 30)).astype(np.float32)
    y = F.dropout(torchlite.tensor(x), p, generator=torchlite.Generator().manual_seed(11))
    u = np.random.default_rng(11).random(x.shape, dtype=np.float32)
    np.testing.assert_array_equal(y.numpy(), x * K.mask_from_uniform_reference(u, p))


def test_seeds_come_from_torchlites_generator():
    torchlite.manual_seed(5)
    a = [K.draw_seed(), K.draw_seed()]
    torchlite.manual_seed(5)
    assert [K.draw_seed(), K.draw_seed()] == a and a[0] != a[1] and min(a) >= 0
    g = torchlite.Generator().manual_seed(5)
    assert K.draw_seed(g) == a[0]


def test_bad_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        K.dropout_mask_reference((3,), 1.5, seed=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,offset", [(1, 0), (1000, 0), (1001, 3), (70_001, 6)])
def test_kernels_equal_the_reference(cp, dtype, n, offset, rng):
    x = rng.normal(size=n).astype(dtype)
    seed = 0x1234_5678_9ABC
    y = K.dropout(cp.asarray(x), 0.4, seed=seed, offset=offset)
    np.testing.assert_array_equal(cp.asnumpy(y), K.dropout_reference(x, 0.4, seed=seed,
                                                                      offset=offset))
    m = K.dropout_mask((n,), 0.4, seed=seed, offset=offset, dtype=dtype)
    np.testing.assert_array_equal(cp.asnumpy(m), K.dropout_mask_reference(
        (n,), 0.4, seed=seed, offset=offset, dtype=dtype))
    g = rng.normal(size=n).astype(dtype)
    gx = K.dropout_grad(cp.asarray(g), 0.4, seed=seed, offset=offset)
    np.testing.assert_array_equal(cp.asnumpy(gx), g * cp.asnumpy(m))


def test_kernel_mask_from_uniform(cp, rng):
    u = rng.random((64, 33), dtype=np.float32)
    m = K.mask_from_uniform(cp.asarray(u), 0.25)
    np.testing.assert_array_equal(cp.asnumpy(m), K.mask_from_uniform_reference(u, 0.25))


def test_kernel_keeps_shape(cp):
    x = cp.ones((4, 5, 6), cp.float32)
    assert K.dropout(x, 0.5, seed=1).shape == (4, 5, 6)
    assert K.dropout_mask((2, 3), 0.5, seed=1).shape == (2, 3)
