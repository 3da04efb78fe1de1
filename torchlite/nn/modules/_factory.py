"""Creating a layer's parameter and buffer storage with the `device=`/`dtype=` layer arguments."""

from __future__ import annotations

from ... import backend
from ...tensor import Tensor
from .._deferred import deferred_array, deferring
from ..parameter import Parameter


def empty(shape, device=None, dtype=None) -> Tensor:
    """An uninitialised tensor for a layer to fill (`reset_parameters` does)."""
    dev = backend.factory_device(device)  # set_default_device's when None
    dt = backend.to_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    if deferring():  # shape only, on the host (see nn._deferred)
        return Tensor._make(deferred_array(shape, dt.np), backend.CPU)
    return Tensor._make(backend.xp_for(dev).empty(tuple(shape), dtype=dt.np), dev)


def param(shape, device=None, dtype=None) -> Parameter:
    return Parameter(empty(shape, device, dtype))


def filled(shape, value, device=None, dtype=None) -> Tensor:
    t = empty(shape, device, dtype)
    t._data.fill(value)
    return t
