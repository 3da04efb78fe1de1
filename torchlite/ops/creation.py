"""Tensor creation: tensor, from_numpy, as_tensor, zeros/ones/full/empty, ranges, eye, random."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..backend import get_xp
from ..random import _rng
from ..tensor import Tensor
from .dims import shape_args
from .out import creation_out
from .promotion import promote_dtypes


def _finish(arr, dev, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_np_dtype(data):
    """PyTorch's inference: Python floats -> default float, ints -> int64, bools -> bool."""
    if isinstance(data, (np.ndarray, np.generic)):
        return data.dtype
    if isinstance(data, (list, tuple)) and data:
        # each element brings its own type (NumPy scalars and tensors their dtype) and the
        # types promote as in PyTorch: [1, 2.0] -> float32, [np.float64(1)] -> float64
        kinds: set = set()
        _kinds(data, kinds)
        if not kinds:  # nested empty lists: [[]] is an empty float tensor of shape (1, 0)
            return backend.get_default_dtype().np
        return promote_dtypes(list(kinds))
    if isinstance(data, bool):
        return np.dtype(np.bool_)
    if isinstance(data, int):
        return np.dtype(np.int64)
    if isinstance(data, float):
        return backend.get_default_dtype().np
    if isinstance(data, (list, tuple)) and not data:
        return backend.get_default_dtype().np
    return None


def _kinds(x, acc: set) -> None:
    if isinstance(x, (list, tuple)):
        for v in x:
            _kinds(v, acc)
    elif isinstance(x, Tensor):
        acc.add(x._data.dtype)
    elif isinstance(x, (np.ndarray, np.generic)):
        acc.add(x.dtype)
    elif isinstance(x, bool):
        acc.add(np.dtype(np.bool_))
    elif isinstance(x, int):
        acc.add(np.dtype(np.int64))
    elif isinstance(x, float):
        acc.add(backend.get_default_dtype().np)
    else:
        raise TypeError(f"tensor(): can't build a tensor from an element of type "
                        f"{type(x).__name__}")


def _unwrap(x):
    if isinstance(x, Tensor):
        return backend.to_host(x._data)
    if isinstance(x, (list, tuple)):
        return [_unwrap(v) for v in x]
    return x


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, scalars, arrays or tensors)."""
    if device is not None:
        dev = backend.to_device(device)
    elif isinstance(data, Tensor) and backend.explicit_default_device() is None:
        dev = data._device  # (a default device set by set_default_device wins, as in PyTorch)
    else:
        dev = backend.factory_device(None)
    if dtype is not None:
        npdt = backend.to_dtype(dtype).np
    elif isinstance(data, Tensor):
        npdt = data._data.dtype
    else:
        npdt = _infer_np_dtype(data)
    if isinstance(data, Tensor):
        arr = backend.move(data._data, dev).astype(npdt, copy=True)
    else:
        src = _unwrap(data)
        if get_xp(src) is not np:
            arr = backend.move(src, dev).astype(npdt, copy=True)
        else:
            host = np.array(src, dtype=npdt)
            if host.dtype.kind in "OUS":
                raise TypeError(f"tensor(): can't convert data of type {host.dtype} to a tensor")
            if npdt is None:
                host = host.astype(backend.from_numpy_dtype(host.dtype).np)
            arr = backend.move(host, dev) if dev.type != "cpu" else host
    backend.from_numpy_dtype(arr.dtype)
    return _finish(arr, dev, requires_grad)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with `ndarray`: changes to one show in the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    backend.from_numpy_dtype(ndarray.dtype)
    return Tensor._make(ndarray, backend.CPU)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like tensor(), but shares memory when `data` is already an array of that dtype/device."""
    if device is None:
        device = backend.explicit_default_device()  # set_default_device's, if any
    if isinstance(data, Tensor):
        out = data
        if dtype is not None or device is not None:
            out = data.to(device=device, dtype=dtype)
        return out
    if isinstance(data, np.ndarray) and (dtype is None or backend.to_dtype(dtype).np ==
                                         data.dtype) and (device is None or
                                                          backend.device(device).type == "cpu"):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def _sizes(size, op: str) -> tuple:
    """Sizes given as f(2, 3) or f((2, 3)), checked before anything is allocated."""
    shape = shape_args(size, op)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: Trying to create tensor with negative dimension "
                           f"{min(shape)}: {list(shape)}")
    return shape


def _factory(xp_fn_name):
    def make(*size, dtype=None, device=None, requires_grad=False, out=None, **_):
        if out is not None:
            return creation_out(make, xp_fn_name, out, size,
                                {"dtype": dtype, "device": device})
        shape = _sizes(size, xp_fn_name)
        dev = backend.factory_device(device)
        dt = backend.to_dtype(dtype).np if dtype is not None else backend.get_default_dtype().np
        arr = getattr(backend.xp_for(dev), xp_fn_name)(shape, dtype=dt)
        return _finish(arr, dev, requires_grad)

    make.__name__ = xp_fn_name
    make.__doc__ = f"A tensor of the given size filled by {xp_fn_name} (default dtype float32)."
    return make


zeros = _factory("zeros")
ones = _factory("ones")
empty = _factory("empty")


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    if out is not None:
        return creation_out(full, "full", out,
                            (size, fill_value), {"dtype": dtype, "device": device})
    shape = _sizes((size,) if isinstance(size, int) else tuple(size), "full")
    if dtype is None:
        dtype = _infer_np_dtype(fill_value) if not isinstance(fill_value, Tensor) \
            else fill_value._data.dtype
    dev = backend.factory_device(device)
    v = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    arr = backend.xp_for(dev).full(shape, v, dtype=backend.to_dtype(dtype).np)
    return _finish(arr, dev, requires_grad)


def _like(fn):
    def like(input: Tensor, *, dtype=None, device=None, requires_grad=False, **_):
        return fn(input._data.shape, dtype=dtype or input.dtype, device=device or input._device,
                  requires_grad=requires_grad)

    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(input._data.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input._device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False,
           out=None) -> Tensor:
    """Values from start to end (exclusive) by step; int64 unless a bound or step is a float."""
    if out is not None:
        return creation_out(arange, "arange", out,
                            (start, end, step), {"dtype": dtype, "device": device})
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError(
            f"arange: upper bound and larger bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dt = backend.get_default_dtype().np if is_float else np.dtype(np.int64)
    else:
        dt = backend.to_dtype(dtype).np
    n = max(0, math.ceil((end - start) / step))
    arr = (np.arange(n, dtype=np.float64) * step + start).astype(dt) if dt.kind in "fV" else \
        np.arange(start, end, step).astype(dt)
    dev = backend.factory_device(device)
    return _finish(backend.move(arr, dev), dev, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False, out=None):
    if out is not None:
        return creation_out(linspace, "linspace", out,
                            (start, end, steps), {"dtype": dtype, "device": device})
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    dt = backend.to_dtype(dtype).np if dtype is not None else backend.get_default_dtype().np
    if dt == np.bool_:  # as PyTorch, which has no bool kernel for it
        from .exceptions import DtypeNotImplementedError

        raise DtypeNotImplementedError("\"linspace_cpu\" not implemented for 'Bool'")
    dev = backend.factory_device(device)
    arr = np.linspace(float(start), float(end), int(steps)).astype(dt)
    return _finish(backend.move(arr, dev), dev, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad=False, out=None):
    if out is not None:
        return creation_out(logspace, "logspace", out,
                            (start, end, steps, base), {"dtype": dtype, "device": device})
    dt = backend.to_dtype(dtype).np if dtype is not None else backend.get_default_dtype().np
    dev = backend.factory_device(device)
    arr = np.logspace(float(start), float(end), int(steps), base=base).astype(dt)
    return _finish(backend.move(arr, dev), dev, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False, out=None):
    if out is not None:
        return creation_out(eye, "eye", out,
                            (n, m), {"dtype": dtype, "device": device})
    dt = backend.to_dtype(dtype).np if dtype is not None else backend.get_default_dtype().np
    dev = backend.factory_device(device)
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got {n} and {m}")
    return _finish(backend.xp_for(dev).eye(n, m, dtype=dt), dev, requires_grad)


# ----------------------------------------------------------------------------------------------
# random (drawn on the CPU from the seeded generator, then moved)


def _rand_out(arr, dtype, device, requires_grad, default_float=True):
    dt = backend.to_dtype(dtype).np if dtype is not None else (
        backend.get_default_dtype().np if default_float else np.dtype(np.int64))
    dev = backend.factory_device(device)
    return _finish(backend.move(np.asarray(arr).astype(dt, copy=False), dev), dev, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    if out is not None:
        return creation_out(rand, "rand", out,
                            size, {"generator": generator, "dtype": dtype, "device": device})
    shape = _sizes(size, "rand")
    return _rand_out(_rng(generator).random(shape), dtype, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    """Standard normal samples."""
    if out is not None:
        return creation_out(randn, "randn", out,
                            size, {"generator": generator, "dtype": dtype, "device": device})
    shape = _sizes(size, "randn")
    return _rand_out(_rng(generator).standard_normal(shape), dtype, device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, out=None) -> Tensor:
    """Integers uniformly from [low, high) (int64 by default)."""
    if out is not None:
        return creation_out(randint, "randint", out,
                            (low, high, size),
                            {"generator": generator, "dtype": dtype, "device": device})
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    arr = _rng(generator).integers(low, high, size=_sizes(tuple(size), "randint"))
    return _rand_out(arr, dtype, device, requires_grad, default_float=False)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False,
             out=None) -> Tensor:
    if out is not None:
        return creation_out(randperm, "randperm", out,
                            (n,), {"generator": generator, "dtype": dtype, "device": device})
    return _rand_out(_rng(generator).permutation(int(n)), dtype, device, requires_grad,
                     default_float=False)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, generator=None):
    return rand(input._data.shape, generator=generator, dtype=dtype or input.dtype,
                device=device or input._device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, generator=None):
    return randn(input._data.shape, generator=generator, dtype=dtype or input.dtype,
                 device=device or input._device, requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None, generator=None):
    return randint(low, high, input._data.shape, generator=generator,
                   dtype=dtype or input.dtype, device=device or input._device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean if isinstance(mean, Tensor) else None
        s = std if isinstance(std, Tensor) else None
        ref = m if m is not None else s
        z = randn(ref._data.shape, generator=generator, dtype=ref.dtype, device=ref._device)
        return z * std + mean
    # PyTorch's normal() is not among the factories that follow set_default_device: the CPU
    return _rand_out(_rng(generator).normal(mean, std, size=tuple(size)), dtype,
                     backend.CPU if device is None else device, False)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    probs = input._data if p is None else p
    draw = backend.move(_rng(generator).random(input._data.shape), input._device)
    return Tensor._make((draw < probs).astype(input._data.dtype), input._device)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None):
    p = np.asarray(backend.to_host(input._data), dtype=np.float64)
    rng = _rng(generator)
    rows = p.reshape(-1, p.shape[-1])
    out = np.stack([rng.choice(p.shape[-1], size=num_samples, replace=replacement,
                               p=r / r.sum()) for r in rows])
    out = out.reshape(p.shape[:-1] + (num_samples,))
    return _rand_out(out, None, input._device, False, default_float=False)


# ----------------------------------------------------------------------------------------------


class Clone(Op):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own memory; gradients flow back to the input."""
    return Clone.apply(input)


class Cast(Op):
    @staticmethod
    def forward(ctx, x, dt):
        ctx.dtype = x.dtype
        return x.astype(dt)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype), None


class ToDevice(Op):
    @staticmethod
    def forward(ctx, x, dev):
        ctx.src = backend.array_device(x)
        return backend.move(x, dev)

    @staticmethod
    def backward(ctx, g):
        return backend.move(g, ctx.src), None

    @staticmethod
    def graph_backward(ctx, g):
        """The move back as Tensor.to, which a graph of the backward pass records."""
        from ..autograd.darray import DArray

        return DArray(g.t.to(ctx.src)), None


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding the number s (the default float dtype unless dtype is given)."""
    from ..backend import get_default_dtype

    return tensor(float(s) if dtype is None and not isinstance(s, bool) else s,
                  dtype=dtype if dtype is not None else get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def inclusive_range(start=0, end=None, step=1, *, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """The deprecated torch.range: start to end inclusive, floats of the default dtype."""
    import warnings

    from ..backend import get_default_dtype

    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    n = int(math.floor((end - start) / step)) + 1
    values = np.arange(max(n, 0), dtype=np.float64) * step + start
    return tensor(values, dtype=dtype if dtype is not None else get_default_dtype(),
                  device=device, requires_grad=requires_grad)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D CPU tensor sharing memory with a Python buffer (bytes-like, array.array, ...)."""
    from ..backend import CPU

    np_dtype = dtype.np if hasattr(dtype, "np") else np.dtype(dtype)
    if count == 0:
        raise ValueError("frombuffer: count must be a positive number or -1, got 0")
    arr = np.frombuffer(buffer, dtype=np_dtype, count=count, offset=offset)
    return _finish(arr, CPU, requires_grad)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Draws from Poisson distributions with the rates in input (same shape and dtype)."""
    rates = backend.to_host(input._data)
    if (rates < 0).any():
        raise RuntimeError("poisson: rates must be non-negative")
    draws = _rng(generator).poisson(rates).astype(rates.dtype)
    return Tensor._make(backend.move(draws, input._device), input._device)
