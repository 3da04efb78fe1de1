"""Building a module without its parameter storage: every shape known, no memory spent.

Inside `deferred_storage()`, the layers' parameters and buffers (nn.modules._factory) are
read-only zero-strided NumPy views of one zero, whatever their shape, and the nn.init fills
leave them alone. The module tree, every parameter's name and shape, costs nothing, so a
caller can check what a model would hold (against a checkpoint, say) before allocating it.
Such a module is for inspection only: it cannot be trained, and writing into its tensors
raises. Tensors made otherwise (torchlite.zeros, randn, ... in a custom module's own code)
are allocated as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

_deferring: ContextVar[bool] = ContextVar("torchlite_deferred_storage", default=False)


@contextmanager
def deferred_storage() -> Iterator[None]:
    """Modules built inside hold shape-only parameters and buffers (see the module doc)."""
    token = _deferring.set(True)
    try:
        yield
    finally:
        _deferring.reset(token)


def deferring() -> bool:
    return _deferring.get()


def deferred_array(shape: tuple, dtype) -> np.ndarray:
    # broadcast_to checks the shape as np.empty would (negative or too large sizes raise)
    return np.broadcast_to(np.zeros((), dtype=dtype), tuple(shape))


def is_deferred(tensor) -> bool:
    """Whether `tensor` holds deferred storage that an initialiser must leave unwritten."""
    if not _deferring.get():
        return False
    arr = getattr(tensor, "_data", None)
    return isinstance(arr, np.ndarray) and not arr.flags.writeable
