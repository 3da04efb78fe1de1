"""Module.to() argument parsing and the per-tensor converters it applies."""

from __future__ import annotations

from .. import backend
from .._tensor_convert import parse_to
from ..tensor import Tensor


def _plain(t: Tensor) -> Tensor:
    out = Tensor._make(t._data, t._device, t._requires_grad)
    out._vbox = t._vbox
    return out


def _parse_to(args, kwargs):
    """Module.to's arguments: Tensor.to's grammar, with floating dtypes only (as PyTorch)."""
    device, dtype, _ = parse_to(args, kwargs)
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


def _converter(device, dtype):
    def convert(t: Tensor) -> Tensor:
        arr = t._data
        if dtype is not None and arr.dtype.kind in "fV" and arr.dtype != dtype.np:
            arr = arr.astype(dtype.np)
        dev = t._device
        if device is not None and device != dev:
            arr, dev = backend.move(arr, device), device
        if arr is t._data:
            return t
        return Tensor._make(arr, dev, t._requires_grad)

    return convert
