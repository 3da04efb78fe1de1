"""Helpers shared by the op families: PyTorch's type promotion, broadcasting, dims, wrapping."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _flags, backend
from ..tensor import Tensor


def _category(dt) -> int:
    k = dt.kind
    return 0 if k == "b" else 1 if k in "iu" else 2


def _scalar_category(s) -> int:
    if isinstance(s, (bool, np.bool_)):
        return 0
    if isinstance(s, (numbers.Integral,)):
        return 1
    if isinstance(s, numbers.Real):
        return 2
    raise TypeError(f"unsupported operand type {type(s).__name__}")


def result_dtype(*operands):
    """The NumPy dtype PyTorch's promotion rules give for these Tensors and Python scalars.

    Dimensioned tensors decide; a 0-d tensor or a scalar only matters when it is of a higher
    category (bool < integer < float). A float scalar lifts integer tensors to the default float
    dtype, never to float64, and a NumPy scalar counts as a Python scalar.
    """
    if len(operands) == 2 and isinstance(operands[0], Tensor):  # fast paths for the common cases
        dt, b = operands[0]._data.dtype, operands[1]
        if isinstance(b, Tensor):
            if b._data.dtype == dt:
                return dt
        elif type(b) is float or isinstance(b, np.float64):  # a float scalar keeps a float dtype
            if dt.kind == "f":
                return dt
        elif type(b) is int and dt.kind in "fiu":
            return dt
    dims, zeros, scalars = [], [], []
    for x in operands:
        if isinstance(x, Tensor):
            (dims if x._data.ndim else zeros).append(x._data.dtype)
        else:
            scalars.append(x)
    r = _promote(dims) if dims else (_promote(zeros) if zeros else None)
    if dims and zeros:
        zc = max(_category(z) for z in zeros)
        if zc > _category(r):
            r = _promote([z for z in zeros if _category(z) == zc])
    for s in scalars:
        sc = _scalar_category(s)
        if r is None or sc > _category(r):
            r = _DEFAULT_FOR[sc]()
    return r


_DEFAULT_FOR = {
    0: lambda: np.dtype(np.bool_),
    1: lambda: np.dtype(np.int64),
    2: lambda: backend.get_default_dtype().np,
}


def _promote(dtypes):
    top = max(_category(d) for d in dtypes)
    same = [d for d in dtypes if _category(d) == top]
    return np.result_type(*same) if len(same) > 1 else same[0]


def scalar(s):
    """A Python number for NumPy (NumPy scalars would promote float32 arrays under NEP 50)."""
    if isinstance(s, np.generic):
        return s.item()
    return s


def unbroadcast(g, shape, dtype=None):
    """Sum gradient `g` back to `shape` (undoing broadcasting) and cast it to `dtype`."""
    if g.shape != shape:
        nd = g.ndim - len(shape)
        if nd > 0:
            g = g.sum(axis=tuple(range(nd)))
        axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if g.shape != shape:
            g = g.reshape(shape)
    if dtype is not None and g.dtype != dtype:
        g = g.astype(dtype)
    return g


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
                    and not (_flags._deterministic and out.dtype.kind == "f")):
        xp.add.at(out, key, values)
        return
    out[...] = backend.move(add_at_on_host(out, key, values), backend.array_device(out))


def add_at_on_host(out, key, values):
    """`add_at` done by NumPy on host copies of `out`, the arrays in `key` and `values`;
    returns the host result (for a NumPy `out`, `out` itself, changed in place)."""
    host = backend.move(out, backend.CPU)
    parts = key if isinstance(key, tuple) else (key,)
    np.add.at(host, tuple(backend.move(k, backend.CPU) for k in parts),
              backend.move(values, backend.CPU))
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


def broadcast_shapes(op: str, *shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(
            f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast "
            "together"
        ) from None


def wrap_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
            f"{dim})"
        )
    return int(dim) % n


def numpy_kwargs(kwargs: dict, op: str, dim, keepdim=None, default=None):
    """PyTorch's NumPy-style keyword aliases, `axis=` for `dim=` and `keepdims=` for `keepdim=`
    (as `x.max(axis=1)`, `x.mean(1, keepdims=True)`). Returns (dim, keepdim); any other keyword
    is a TypeError. Ops take them as **kwargs and call this only when some were given, so the
    usual call pays for one empty-dict test."""
    if "axis" in kwargs:
        if dim != default:
            raise TypeError(f"{op}() got multiple values for argument 'dim' (dim and axis)")
        dim = kwargs.pop("axis")
    if "keepdims" in kwargs and keepdim is not None:
        keepdim = kwargs.pop("keepdims")
    if kwargs:
        raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(kwargs))!r}")
    return dim, keepdim


def missing_dim(op: str):
    """The TypeError of an op whose `dim` is required (optional in the signature only so that
    `axis=` can stand for it)."""
    return TypeError(f"{op}() missing 1 required positional argument: 'dim'")


def wrap_dims(dims, ndim: int, op: str):
    """Normalise `dim` (None, int or sequence) to a sorted tuple of axes, or None for all."""
    if dims is None:
        return None
    if isinstance(dims, (int, np.integer)):
        return (wrap_dim(dims, ndim, op),)
    out = tuple(sorted(wrap_dim(d, ndim, op) for d in dims))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {tuple(dims)} appears multiple times in the list of dims")
    return out


def as_tensor_arg(x, like: Tensor, op: str = "operation"):
    """Wrap a non-Tensor array-like argument as a Tensor on `like`'s device."""
    if isinstance(x, Tensor):
        return x
    xp = backend.xp_for(like._device)
    arr = xp.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: unsupported operand type {type(x).__name__}")
    if arr.dtype == np.float64 and not isinstance(x, np.ndarray):
        arr = arr.astype(backend.get_default_dtype().np)
    return Tensor._make(arr, like._device)


def xp_of(t: Tensor):
    return backend.xp_for(t._device)


def shape_args(args, op: str):
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) for sizes."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = int(a.item())
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: sizes must be integers, got {a!r}")
        out.append(int(a))
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# PyTorch's `out=` argument. An op takes `out=None` as a keyword and, only when one is given,
# hands the call to `with_out` (ops) or `creation_out` (factories): the usual call pays for one
# `is not None` test, no wrapper.


def _any_requires_grad(values) -> bool:
    for v in values:
        if isinstance(v, Tensor):
            if v._requires_grad:
                return True
        elif isinstance(v, (list, tuple)) and _any_requires_grad(v):
            return True
    return False


def _check_out_grad(name: str, args, kwargs, out) -> None:
    from ..autograd import grad_mode

    if grad_mode._state.enabled and (_any_requires_grad(args)
                                     or _any_requires_grad(kwargs.values())
                                     or _any_requires_grad(out if isinstance(out, (list, tuple))
                                                           else (out,))):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )


def _write_out(name: str, result: Tensor, out, exact: bool, warn: bool = True) -> Tensor:
    """Copy `result` into `out` (cast to out's dtype, resized to the result's shape)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out._device != result._device:
        raise RuntimeError(
            f"{name}(): Expected out tensor to be on device {result._device}, but got "
            f"{out._device} instead (all tensors must be on the same device)"
        )
    rdt, odt = result._data.dtype, out._data.dtype
    if rdt != odt:
        if exact:
            raise RuntimeError(f"{name}(): Expected out tensor to have dtype "
                               f"{result.dtype}, but got {out.dtype} instead")
        if exact is not None and _category(rdt) > _category(odt):
            raise RuntimeError(f"{name}(): result type {result.dtype} can't be cast to the "
                               f"desired output type {out.dtype}")
    shape = result._data.shape
    if out._data.shape != shape:
        if warn and out._data.size:
            import warnings

            warnings.warn(
                f"{name}(): An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(shape)}. This behavior is deprecated, and in a future PyTorch release "
                "outputs will not be resized unless they have zero elements. You can explicitly "
                "reuse an out tensor t by resizing it, inplace, to zero elements with "
                "t.resize_(0).", UserWarning, stacklevel=4)
        out._data = backend.xp_for(out._device).empty(shape, dtype=odt)
    out._data[...] = result._data
    out._bump()
    return out


def with_out(fn, name: str, out, args, kwargs=None, exact=False):
    """PyTorch's `out=` semantics for op `fn` called as `fn(*args, **kwargs)`.

    The result is written into `out` (a Tensor, or a tuple of them for ops that return several,
    as max(x, dim, out=(values, indices))) and `out` itself is returned. An `out` of another
    shape is resized (with PyTorch's warning when it held elements); the result's dtype must be
    castable to out's (no float into an integer tensor, nothing but bool into bool); `exact=True`
    asks for the same dtype, as mm and argmax do (per output where it is a tuple), and
    `exact=None` allows any cast, as sum and cumsum do (they accumulate in out's dtype); devices
    must match. With grad mode on, an argument or `out` that requires grad is a RuntimeError, as in
    PyTorch: out= functions are not differentiable.
    """
    from ..autograd import grad_mode

    kwargs = kwargs or {}
    _check_out_grad(name, args, kwargs, out)
    with grad_mode.no_grad():
        result = fn(*args, **kwargs)
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} "
                            f"Tensors, not {type(out).__name__}")
        ex = exact if isinstance(exact, tuple) else (exact,) * len(result)
        outs = []
        for r, o, e in zip(result, out, ex):  # (a loop: the warning's stacklevel counts frames)
            outs.append(_write_out(name, r, o, e))
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    return _write_out(name, result, out, exact)


def creation_out(fn, name: str, out, args, kwargs):
    """PyTorch's `out=` for a factory (randn, arange, zeros, ...): the values are made in out's
    dtype and on its device (a different `dtype=`/`device=` is a RuntimeError) and written
    into `out`, resized without a warning; `out` is returned."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    if dtype is not None and backend.to_dtype(dtype).np != out._data.dtype:
        raise RuntimeError(f"{name}(): dtype {backend.to_dtype(dtype)} does not match dtype of "
                           f"out parameter ({out.dtype})")
    if device is not None and backend.device(device) != out._device:
        raise RuntimeError(f"{name}(): device {backend.device(device)} does not match device of "
                           f"out parameter ({out._device})")
    kwargs.pop("requires_grad", None)
    _check_out_grad(name, (), {}, out)
    result = fn(*args, dtype=out.dtype, device=out._device, **kwargs)
    return _write_out(name, result, out, False, warn=False)
