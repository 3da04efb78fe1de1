"""Dropout masks made on the GPU: random draw, threshold, scale (and multiply) in one launch.

The random numbers come from a counter-based generator, Philox4x32-10 (Salmon et al., "Parallel
random numbers: as easy as 1, 2, 3", SC 2011): element i of a call draws word (q mod 4) of
Philox(counter = q div 4, key = seed) with q = offset + i, and keeps its value when that word's
top 24 bits, as a float32 uniform in [0, 1), are >= p (as the CPU path compares float32
uniforms with p). The mask is a pure function of (seed, offset + i): nothing is stored between
forward and backward (the backward recomputes it from the same seed and offset), and a tensor
can be split into calls at any offset.

Seeding: each dropout call draws one 64-bit seed from torchlite's generator (`draw_seed`, from
`torchlite.random`'s default generator or the one passed in) and uses offset 0, so runs are
reproducible from `torchlite.manual_seed`, and a resumed run continues the same sequence (the
generator's state is in the checkpoint). The GPU's masks are not the CPU's (those come from
PCG64 uniforms drawn on the host): where bit-equal masks on both devices matter, draw the
uniforms on the host as the CPU does and use `mask_from_uniform`, which fuses the threshold and
the scaling (one launch after the copy).
"""

from __future__ import annotations

import numpy as np

from . import _common

__all__ = ["draw_seed", "dropout", "dropout_grad", "dropout_mask", "dropout_mask_reference",
           "dropout_reference", "mask_from_uniform", "mask_from_uniform_reference",
           "philox4x32", "uniform_reference"]

THREADS = 256
MAX_BLOCKS = 65535

PARAMS = ("x", "y", "n", "seed", "offset", "p", "scale", "mask_only")
SOURCE = r"""
__device__ __forceinline__ void tl_philox(unsigned int c[4], unsigned int k0, unsigned int k1) {
    for (int r = 0; r < 10; ++r) {
        if (r) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        const unsigned int hi0 = __umulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
        const unsigned int hi1 = __umulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
        const unsigned int n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

extern "C" __global__ void tl_dropout(
    const T* x, T* y, const long long n,
    const unsigned long long seed, const unsigned long long offset, const float p,
    const T scale, const int mask_only)
{
    // one Philox call gives the 4 elements whose position offset + i shares counter q / 4
    const unsigned long long first = offset >> 2;
    const unsigned long long last = (offset + (unsigned long long)n + 3) >> 2;
    const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long q = first + (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
         q < last; q += stride) {
        unsigned int c[4] = {(unsigned int)q, (unsigned int)(q >> 32), 0u, 0u};
        tl_philox(c, (unsigned int)seed, (unsigned int)(seed >> 32));
        for (int w = 0; w < 4; ++w) {
            const long long i = (long long)(4 * q + w - offset);
            if (4 * q + w < offset || i >= n) continue;
            const float u = (float)(c[w] >> 8) * 5.9604644775390625e-08f;  // * 2^-24
            const T m = u >= p ? scale : (T)0;
            y[i] = mask_only ? m : x[i] * m;
        }
    }
}
"""

UNIFORM_MASK = ("float32 u, float32 p, T scale", "T m", "m = u >= p ? scale : (T)0")


def draw_seed(generator=None) -> int:
    """One 64-bit seed for a dropout call, drawn from torchlite's generator (the default one
    unless `generator` is given), which advances it reproducibly."""
    from ..random import _rng

    return int(_rng(generator).integers(0, 2**63 - 1, dtype=np.int64, endpoint=True))


def _scale(p: float, dtype):
    _check_p(p)
    return np.dtype(dtype).type(0.0 if p == 1.0 else 1.0 / (1.0 - p))


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _blocks(n: int, offset: int) -> int:
    """Blocks of the launch: one thread per Philox counter (offset + n + 3) // 4 - offset // 4
    up to MAX_BLOCKS, the kernel's grid-stride loop taking the rest."""
    counters = (offset + n + 3) // 4 - offset // 4
    return max(1, min(MAX_BLOCKS, -(-counters // THREADS)))


def raw_source(dtype) -> str:
    """The source the dropout RawKernel compiles for `dtype`."""
    return f"#define T {_common.ctype(dtype)}\n" + SOURCE


def _launch(x, y, n: int, p: float, seed: int, offset: int, mask_only: bool) -> None:
    if not (0 <= seed < 2**64 and 0 <= offset and offset + n + 3 < 2**64):
        raise ValueError(f"dropout: seed and offset must be >= 0 and below 2**64, got {seed} "
                         f"and {offset}")
    if x.dtype != y.dtype or x.size != n or y.size != n:
        raise ValueError(f"dropout: input and output must be {n} elements of one dtype, got "
                         f"{x.size} {x.dtype} and {y.size} {y.dtype}")
    key = ("tl_dropout", np.dtype(y.dtype).str)
    k = _common.kernel(key, lambda cp: cp.RawKernel(raw_source(y.dtype), "tl_dropout"))
    blocks = _blocks(n, offset)
    args = dict(x=x, y=y, n=np.int64(n), seed=np.uint64(seed), offset=np.uint64(offset),
                p=np.float32(p), scale=_scale(p, y.dtype), mask_only=np.int32(mask_only))
    k((blocks,), (THREADS,), tuple(args[k_] for k_ in PARAMS))


def dropout(x, p: float, *, seed: int, offset: int = 0, out=None):
    """x * mask, the mask drawn from (seed, offset) as the module docstring says (one launch).
    Returns a new array (or `out`); the backward is `dropout_grad` with the same seed."""
    cp = _common.cupy()
    x = cp.ascontiguousarray(x)
    y = cp.empty_like(x) if out is None else out
    _common.check_contiguous("dropout", y)
    if y.shape != x.shape:
        raise ValueError(f"dropout: out has shape {y.shape}, the input {x.shape}")
    if x.size:
        _launch(x, y, x.size, p, seed, offset, mask_only=False)
    return y


def dropout_grad(g, p: float, *, seed: int, offset: int = 0, out=None):
    """The gradient of `dropout`: g * the same mask, recomputed from (seed, offset)."""
    return dropout(g, p, seed=seed, offset=offset, out=out)


def dropout_mask(shape, p: float, *, seed: int, offset: int = 0, dtype=np.float32):
    """The scaled mask alone (1 / (1 - p) where kept, 0 where dropped), for callers that
    multiply it in themselves (as MulMask does)."""
    cp = _common.cupy()
    m = cp.empty(shape, dtype=dtype)
    if m.size:
        _launch(m, m, m.size, p, seed, offset, mask_only=True)
    return m


def mask_from_uniform(u, p: float, dtype=np.float32):
    """The CPU's mask from its float32 uniforms `u` (a cupy array): (u >= p) * 1 / (1 - p)
    in one launch, bit for bit the CPU path's `keep.astype(dtype) * scale`."""
    k = _common.kernel(("tl_mask_from_uniform",), lambda cp: cp.ElementwiseKernel(
        *UNIFORM_MASK, name="tl_mask_from_uniform"))
    m = _common.cupy().empty(u.shape, dtype=dtype)
    k(u.astype(np.float32, copy=False), np.float32(p), _scale(p, dtype), m)
    return m


# -- NumPy references --------------------------------------------------------------------------

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_LOW = np.uint64(0xFFFFFFFF)


def philox4x32(counter, key) -> list[np.ndarray]:
    """Philox4x32-10 on uint32 counters (4 arrays) and a key (2 arrays), vectorised: the four
    output words, as uint64 arrays holding 32-bit values."""
    c = [np.asarray(v, dtype=np.uint64) & _LOW for v in counter]
    k0, k1 = (np.asarray(v, dtype=np.uint64) & _LOW for v in key)
    for r in range(10):
        if r:
            k0, k1 = (k0 + _W0) & _LOW, (k1 + _W1) & _LOW
        p0, p1 = _M0 * c[0], _M1 * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & _LOW, (p0 >> np.uint64(32)) ^ c[3] ^ k1,
             p0 & _LOW]
    return c


def uniform_reference(n: int, seed: int, offset: int = 0) -> np.ndarray:
    """The float32 uniforms the kernel draws for elements 0..n-1 of a call."""
    q = np.arange(offset, offset + n, dtype=np.uint64)
    ctr = q >> np.uint64(2)
    words = philox4x32([ctr & _LOW, ctr >> np.uint64(32), 0, 0],
                       [np.uint64(seed) & _LOW, np.uint64(seed) >> np.uint64(32)])
    w = np.choose((q & np.uint64(3)).astype(np.intp), words) if n else np.zeros(0, np.uint64)
    return ((w >> np.uint64(8)).astype(np.float32) * np.float32(2.0**-24)).astype(np.float32)


def mask_from_uniform_reference(u: np.ndarray, p: float, dtype=np.float32) -> np.ndarray:
    """The CPU dropout's mask from its uniforms (torchlite/nn/functional/dropout.py)."""
    keep = u >= np.float32(p)
    return keep.astype(dtype) * _scale(p, dtype)


def dropout_mask_reference(shape, p: float, *, seed: int, offset: int = 0,
                           dtype=np.float32) -> np.ndarray:
    n = int(np.prod(shape))
    return mask_from_uniform_reference(uniform_reference(n, seed, offset), p,
                                       dtype).reshape(shape)


def dropout_reference(x: np.ndarray, p: float, *, seed: int, offset: int = 0) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return x * dropout_mask_reference(x.shape, p, seed=seed, offset=offset, dtype=x.dtype)
