"""Gradient clipping, as `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`.

Everything stays on the device: the total norm is a 0-d tensor and the scaling factor is
applied without reading it back to the host (unless error_if_nonfinite asks for a check).
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _tensors(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters) -> list:
    return [p.grad for p in _tensors(parameters) if p.grad is not None]


def _is_sparse(t: Tensor) -> bool:
    return getattr(type(t), "_sparse_layout", False)


def _entries(t: Tensor):
    """The array a norm is taken over: a sparse gradient's coalesced values (a duplicated
    index counts once, with its summed value), else the tensor's own array."""
    if not _is_sparse(t):
        return t._data
    from ...sparse.coalesce import coalesce

    return coalesce(t._data).values if hasattr(t._data, "indices") else t._data.values


def _norm_array(xp, arr, norm_type: float):
    a = xp.abs(arr)
    if norm_type == math.inf:
        return a.max() if a.size else xp.zeros((), dtype=arr.dtype)
    if norm_type == 0:
        return (a != 0).sum().astype(arr.dtype)
    if norm_type == 2:
        return xp.sqrt((arr * arr).sum())
    if norm_type == 1:
        return a.sum()
    return (a**norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The norm of all `tensors` together, as if concatenated into one vector (a 0-d tensor)."""
    tensors = _tensors(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._make(backend.xp_for(backend.CPU).zeros((), dtype="float32"), backend.CPU)
    dev = tensors[0]._device
    xp = backend.xp_for(dev)
    per = []
    for t in tensors:  # each norm on its tensor's own device, then gathered on the first's
        arr = _entries(t)
        txp = backend.get_xp(arr)
        per.append(backend.move(txp.asarray(_norm_array(txp, arr, norm_type)), dev))
    dtype = tensors[0]._data.dtype
    stacked = xp.stack([p.astype(dtype, copy=False) for p in per])
    total = xp.asarray(_norm_array(xp, stacked, norm_type), dtype=dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(total, dev)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = _grads(parameters)
    if not grads:
        return
    t = total_norm._data
    xp = backend.get_xp(t)
    with np.errstate(over="ignore"):  # a max_norm beyond the dtype's range: no clipping
        coef = xp.minimum(float(max_norm) / (t + 1e-6), 1.0)
    for g in grads:
        c = backend.move(coef, g._device) if g._device != total_norm._device else coef
        arr = g._data.values if _is_sparse(g) else g._data
        with np.errstate(invalid="ignore"):  # a non-finite norm makes NaNs, as in PyTorch
            arr *= c.astype(arr.dtype, copy=False)
        g._bump()


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Rescale gradients so that their total norm is at most max_norm; return the total norm.

    The norm is over all gradients together (as one vector); norm_type may be inf. The scaling
    is always applied (by a factor clamped at 1), so no value is read back from the device.
    Sparse gradients count with their coalesced values and are scaled in place.
    """
    parameters = _tensors(parameters)
    grads = _grads(parameters)
    if not grads:
        return Tensor._make(backend.xp_for(backend.CPU).zeros((), dtype="float32"), backend.CPU)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Deprecated alias of clip_grad_norm_ (as in PyTorch)."""
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    v = float(clip_value)
    for g in _grads(parameters):
        arr = g._data.values if _is_sparse(g) else g._data  # a sparse gradient: its entries
        xp = backend.get_xp(arr)
        xp.clip(arr, -v, v, out=arr)
        g._bump()
