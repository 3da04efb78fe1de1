"""The convolutions' matrix products, cut into column blocks where that is faster on NumPy.

A convolution with few channels multiplies a small matrix (out channels x in channels * kernel
size, 6x25 in LeNet-5's first layer) by a very wide one (one column per output position of the
whole batch, 57,344 there). NumPy's OpenBLAS takes products of up to about a million
multiply-adds with kernels that read the operands in place; a larger one is packed into
blocks first, and with so few rows the packing costs more than the arithmetic. So a wide
product is run as one batched product over blocks of columns, each under that size, writing
into the same output. Measured with one thread on a 2-core x86 machine (AVX-512 kernels),
single product vs blocks:

    rows x depth    width    W @ cols      W^T @ g       cols @ g^T
    6 x 25          57344    822 -> 346    1153 -> 403   659 -> 242 us
    8 x 72          25088    716 -> 391     786 -> 453   740 -> 339
    16 x 150         8960    724 -> 517     571 -> 567   664 -> 677
    32 x 144         6272    753 -> 607     655 -> 642   762 -> 821
    64 x 288         3136   1339 -> 1432   1230 -> 1441  1303 -> 1634

Hence blocks only where they are wide enough to pay for the extra calls (MIN_BLOCK columns,
that is at most 2,500 rows x depth; a 144 x 32 product over 26,880 columns took 3.5 ms whole and
4.1 ms in blocks of 195), and MIN_SUM_BLOCK for the weight gradient's sum over blocks, which
gains only with very few channels. The blocks change no result but the weight gradient's
summation order. CuPy's products go to cuBLAS whole.
"""

from __future__ import annotations

import numpy as np

from ... import _workspace as ws
from ...backend import get_xp

BLOCK_MACS = 900_000  # multiply-adds per block: under OpenBLAS's small-product limit (10**6)
MIN_BLOCK = 360
MIN_SUM_BLOCK = 1024


def _blocks(xp, m: int, k: int, n: int, least: int) -> int:
    """Columns per block, or 0 for one product."""
    if xp is not np or m * k == 0:
        return 0
    c = BLOCK_MACS // (m * k)
    return c if c >= least and n >= 2 * c else 0


def _split(a, c: int, nb: int):
    """(G, r, n) -> (G, nb, r, c) view of its first nb*c columns."""
    sg, sr, sn = a.strides
    return np.lib.stride_tricks.as_strided(a, (a.shape[0], nb, a.shape[1], c),
                                           (sg, c * sn, sr, sn))


def matmul(a, b):
    """(G, m, k) @ (G, k, n) into a pooled scratch array."""
    xp = get_xp(a)
    G, m, k = a.shape
    n = b.shape[2]
    out = ws.empty(xp, (G, m, n), a.dtype)
    c = _blocks(xp, m, k, n, MIN_BLOCK)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
        if not c:
            return xp.matmul(a, b, out=out)
        nb = n // c
        xp.matmul(a[:, None], _split(b, c, nb), out=_split(out, c, nb))
        if nb * c < n:
            xp.matmul(a, b[:, :, nb * c:], out=out[:, :, nb * c:])
    return out


def matmul_t(a, b):
    """(G, m, n) @ (G, k, n)^T -> (G, m, k): a product over the long axis n of both."""
    xp = get_xp(a)
    G, m, n = a.shape
    k = b.shape[1]
    c = _blocks(xp, m, k, n, MIN_SUM_BLOCK)
    with np.errstate(over="ignore", invalid="ignore"):
        if not c:
            return xp.matmul(a, b.transpose(0, 2, 1))
        nb = n // c
        out = xp.matmul(_split(a, c, nb), _split(b, c, nb).transpose(0, 1, 3, 2)).sum(axis=1)
        if nb * c < n:
            out += xp.matmul(a[:, :, nb * c:], b[:, :, nb * c:].transpose(0, 2, 1))
    return out
