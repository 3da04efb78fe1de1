"""Parameter and Buffer: tensors that a Module registers when they are assigned as attributes."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


def _as_array_and_device(data):
    if data is None:
        return np.empty((0,), dtype=backend.get_default_dtype().np), backend.CPU
    if isinstance(data, Tensor):
        return data._data, data._device
    raise TypeError(f"Parameter: expected a Tensor as data, got {type(data).__name__}")


class Parameter(Tensor):
    """A Tensor that is a module parameter, as `torch.nn.Parameter`.

    Assigning a Parameter to a Module attribute registers it, so it shows up in `parameters()` and
    `state_dict()`. It shares memory with `data` (no copy) and requires grad unless told otherwise.
    Results of operations on a Parameter are plain Tensors.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        arr, dev = _as_array_and_device(data)
        t = object.__new__(cls)
        Tensor._init(t, arr, dev)
        if isinstance(data, Tensor):
            t._vbox = data._vbox  # same storage, same version counter
        if requires_grad:
            t.requires_grad = True  # validates the dtype (floating point only)
        return t

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # all the work happens in __new__ (Tensor.__init__ must not run)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute.

    `self.stats = nn.Buffer(torch.zeros(3))` is `self.register_buffer("stats", ...)`;
    `persistent=False` keeps it out of `state_dict()`. The module stores the plain tensor.
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        arr, dev = _as_array_and_device(data)
        t = object.__new__(cls)
        Tensor._init(t, arr, dev)
        if isinstance(data, Tensor):
            t._vbox = data._vbox
            t._requires_grad = data._requires_grad
        t.persistent = persistent
        return t

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        pass


def is_lazy(param) -> bool:  # PyTorch API; torchlite has no lazy modules
    return False
