"""Scatter and gather along axes on either array module: NumPy routines that CuPy lacks
(put_along_axis in older releases) or runs with a host sync (bincount), and add.at for the
dtypes CUDA has no atomic add for."""

from __future__ import annotations

import numpy as np

from .. import _flags, backend


def along_axis_key(idx, axis: int, xp):
    """The index tuple addressing `arr[..., idx[...], ...]` elementwise along `axis` (NumPy's
    take/put_along_axis as one fancy index): open grids over idx's other dims, idx on `axis`.

    `arr[key] = values` is put_along_axis, which older CuPy releases lack.
    """
    grids = list(xp.ogrid[tuple(slice(0, s) for s in idx.shape)])
    grids[axis] = idx
    return tuple(grids)


# The dtypes CuPy's add.at has a kernel for: it rests on CUDA's atomicAdd, which has none for
# int64, int16, int8, uint8 or bool.
_ATOMIC_ADD_DTYPES = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64,
                                                     np.int32, np.uint32, np.uint64))


def add_at(out, key, values) -> None:
    """`out[key] += values` in place, repeated indices accumulating (NumPy's ufunc add.at), on
    either array module. On a GPU, dtypes without an atomic add are summed on the host (a copy
    there and back, which waits for the device): integer and bool scatter-adds take that path,
    and float ones under `use_deterministic_algorithms(True)` (atomic float adds land in a
    varying order, so their sums vary in the last bits from run to run)."""
    xp = backend.get_xp(out)
    if xp is np or (out.dtype in _ATOMIC_ADD_DTYPES
                    and not (_flags._deterministic and out.dtype.kind in "fV")):
        xp.add.at(out, key, values)
        return
    out[...] = backend.move(add_at_on_host(out, key, values), backend.array_device(out))


def add_at_on_host(out, key, values):
    """`add_at` done by NumPy on host copies of `out`, the arrays in `key` and `values`;
    returns the host result (for a NumPy `out`, `out` itself, changed in place)."""
    host = backend.to_host(out)
    parts = key if isinstance(key, tuple) else (key,)
    np.add.at(host, tuple(backend.to_host(k) for k in parts), backend.to_host(values))
    return host


def bincount(idx, n: int, weights=None):
    """NumPy's `bincount(idx, weights, minlength=n)` for a 1-D integer array `idx` with values in
    [0, n): int64 counts, or float64 sums of `weights`.

    On a GPU it is a scatter-add into n zeros: CuPy's own bincount reads the data back (its
    minimum, and its maximum to size the result), which would stall the device every call.
    """
    xp = backend.get_xp(idx)
    if xp is np:
        return np.bincount(idx, weights=weights, minlength=n)
    if weights is None:
        counts = xp.zeros(n, dtype=np.uint64)  # (atomicAdd has no int64 kernel; uint64 has)
        add_at(counts, idx, 1)
        return counts.astype(np.int64)
    sums = xp.zeros(n, dtype=np.float64)
    add_at(sums, idx, weights.astype(np.float64, copy=False))
    return sums


def ufunc_at(name: str, out, key, values) -> None:
    """`out[key] = ufunc(out[key], values)` in place with repeats combining (NumPy's ufunc.at)
    for 'add', 'multiply', 'maximum' or 'minimum'. On a GPU, add goes through `add_at`; the
    others run on host copies when CuPy's ufunc lacks `at` (a copy there and back)."""
    if name == "add":
        add_at(out, key, values)
        return
    xp = backend.get_xp(out)
    f = getattr(xp, name)
    if xp is np or (hasattr(f, "at") and name != "multiply"):
        f.at(out, key, values)
        return
    host = backend.to_host(out)
    parts = key if isinstance(key, tuple) else (key,)
    getattr(np, name).at(host, tuple(backend.to_host(k) for k in parts),
                         backend.to_host(values))
    out[...] = backend.move(host, backend.array_device(out))


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1}
_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _fill_for(reduce: str, dtype):
    if reduce in _IDENTITY:
        return _IDENTITY[reduce]
    if np.dtype(dtype).kind in "fV":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is None:  # bool
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


def scatter_reduce_array(x, src, key, reduce: str, include_self: bool):
    """(out, count): `x` with `src` reduced into the positions `key` names; count is how many
    values (the kept self included) met at each position, 0 where nothing was scattered."""
    xp = backend.get_xp(x)
    hit = xp.zeros(x.shape, dtype=np.int64 if xp is np else np.int32)
    add_at(hit, key, 1)
    out = x.copy()
    if not include_self:
        out[key] = _fill_for(reduce, x.dtype)
    ufunc_at(_UFUNC[reduce], out, key, src)
    count = hit + (1 if include_self else 0) * (hit > 0)
    if reduce == "mean":
        n = xp.maximum(count, 1).astype(x.dtype)
        out = out // n if x.dtype.kind in "iu" else (out / n).astype(x.dtype, copy=False)
        out = xp.where(hit > 0, out, x)
    return out, count
