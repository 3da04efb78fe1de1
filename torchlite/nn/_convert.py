"""Module.to() argument parsing and the per-tensor converters it applies."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


def _plain(t: Tensor) -> Tensor:
    out = Tensor._make(t._data, t._device, t._requires_grad)
    out._vbox = t._vbox
    return out


def _parse_to(args, kwargs):
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a._device, a.dtype
        elif isinstance(a, backend.dtype) or (a in (float,) or _is_np_dtype(a)):
            dtype = a
        elif isinstance(a, (str, int, backend.device)) and not isinstance(a, bool):
            device = a
        elif a is None:
            continue
        else:
            raise TypeError(f"to() received an invalid argument {a!r}")
    if dtype is not None:
        dtype = backend.to_dtype(dtype)
        if not dtype.is_floating_point:
            raise TypeError(
                "nn.Module.to only accepts floating point dtypes, but got desired "
                f"dtype={dtype}"
            )
    if device is not None:
        device = backend.to_device(device)
    return device, dtype


def _is_np_dtype(a) -> bool:
    try:
        return not isinstance(a, str) and isinstance(np.dtype(a), np.dtype)
    except TypeError:
        return False


def _converter(device, dtype):
    def convert(t: Tensor) -> Tensor:
        arr = t._data
        if dtype is not None and arr.dtype.kind == "f" and arr.dtype != dtype.np:
            arr = arr.astype(dtype.np)
        dev = t._device
        if device is not None and device != dev:
            arr, dev = backend.move(arr, device), device
        if arr is t._data:
            return t
        return Tensor._make(arr, dev, t._requires_grad)

    return convert
