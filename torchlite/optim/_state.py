"""Per-parameter optimizer state: the 0-d scalar tensors (`step` and the like) and the buffers
shaped like a parameter, created on a parameter's first step in the order `state_dict` shows."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor


def scalar_tensor(value=0.0) -> Tensor:
    """A 0-d CPU tensor for `step` and other scalar state, as PyTorch keeps them: float32, or
    float64 when that is the default dtype. On the CPU, reading it never syncs a GPU."""
    if isinstance(value, Tensor):
        value = backend.to_host(value._data)
    dt = np.float64 if backend.get_default_dtype() is backend.float64 else np.float32
    return Tensor._make(np.array(value, dtype=dt).reshape(()).copy(), backend.CPU)


def bump_scalar(t: Tensor, by: float = 1.0) -> float:
    """Add to a 0-d state tensor in place (in its own dtype) and return the new value."""
    np.add(t._data, by, out=t._data)
    return float(t._data)


def zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
    """A buffer shaped, typed and placed like parameter `p`, filled with `fill`."""
    xp = backend.get_xp(p._data)
    if fill == 0.0:
        arr = xp.zeros_like(p._data)
    else:
        arr = xp.full_like(p._data, fill)
    return Tensor._make(arr, p._device)


def lazy_state(state: dict[str, Any], p: Tensor, *buffers: str, **scalars) -> dict[str, Any]:
    """A parameter's state, filled on first use: `step` (a 0-d tensor at 0), then the given
    scalar 0-d tensors, then a zero buffer like `p` for each name in `buffers`, in that order
    (the order `state_dict` shows). A state already filled is returned as it is."""
    if len(state) == 0:
        state["step"] = scalar_tensor(0.0)
        for name, value in scalars.items():
            state[name] = scalar_tensor(value)
        for name in buffers:
            state[name] = zeros_state(p)
    return state
