"""Flattening parameters into one vector and back."""

from __future__ import annotations

from ...ops.join import cat
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param: Tensor, old_device):
    if old_device is not None and param._device != old_device:
        raise TypeError(
            "Found two parameters on different devices, this is currently not supported."
        )
    return param._device


def parameters_to_vector(parameters) -> Tensor:
    """One 1-D tensor holding every parameter, flattened, in order (differentiable)."""
    device = None
    vec = []
    for p in parameters:
        device = _check_same_device(p, device)
        vec.append(p.reshape(-1))
    return cat(vec)


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of `vec` into the parameters (the inverse of the above).

    As in PyTorch, each parameter's data becomes a view of `vec` (no copy).
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torchlite.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    for p in parameters:
        device = _check_same_device(p, device)
        n = p.numel()
        p._data = vec._data[pointer:pointer + n].reshape(p._data.shape)
        p._device = vec._device
        p._bump()
        pointer += n
