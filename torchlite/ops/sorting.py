"""Sorting and selection: sort, argsort, topk, kthvalue, median, unique.

Values carry gradients (routed back through the returned indices with a gather); indices do not.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_xp
from ..return_types import kthvalue as return_kthvalue
from ..return_types import median as return_median
from ..return_types import sort as return_sort
from ..return_types import topk as return_topk
from ..tensor import Tensor
from .dims import numpy_kwargs, wrap_dim
from .indexing import gather
from .out import with_out


def _argsort(x, axis, descending, stable=True):
    xp = get_xp(x)
    if descending:
        # Stable descending order: sort the reversed array ascending on negated keys would break
        # for unsigned/bool; flip a stable ascending sort of the reversed axis instead.
        rev = xp.flip(x, axis=axis)
        idx = xp.argsort(rev, axis=axis, kind="stable")
        idx = xp.flip(idx, axis=axis)
        return (x.shape[axis] - 1 - idx).astype(np.int64)
    return xp.argsort(x, axis=axis, kind="stable").astype(np.int64)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False,
            **kwargs):
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "argsort", dim, None, -1)
    d = wrap_dim(dim, input._data.ndim, "argsort")
    if input._data.ndim == 0:
        return Tensor._make(get_xp(input._data).zeros((), np.int64), input._device)
    return Tensor._make(_argsort(input._data, d, descending), input._device)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False,
         *, out=None, **kwargs):
    """(values, indices) sorted along `dim`; ties keep their original order."""
    if out is not None:
        return with_out(sort, "sort", out, (input, dim, descending, stable), kwargs, exact=True)
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "sort", dim, None, -1)
    idx = argsort(input, dim, descending)
    if input._data.ndim == 0:
        return return_sort(input.clone(), idx)
    return return_sort(gather(input, dim, idx), idx)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True,  # noqa: A002
         *, out=None, **kwargs):
    """The k largest (or smallest) elements along `dim`, as (values, indices)."""
    if out is not None:
        return with_out(topk, "topk", out, (input, k, dim, largest, sorted), kwargs, exact=True)
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "topk", dim, None, -1)
    d = wrap_dim(dim, input._data.ndim, "topk")
    if input._data.ndim == 0:  # a 0-d tensor: a dimension of one element, 0-d results
        r = topk(input.reshape(1), k, 0, largest, sorted)
        return return_topk(r.values.reshape(()), r.indices.reshape(()))
    n = input._data.shape[d] if input._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k ({k}) out of range for dimension {d} of "
                           f"size {n}")
    idx = _argsort(input._data, d, descending=largest)
    xp = get_xp(idx)
    idx = xp.take(idx, xp.arange(k), axis=d)
    t_idx = Tensor._make(idx, input._device)
    return return_topk(gather(input, d, t_idx), t_idx)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out=None, **kwargs):
    if out is not None:
        return with_out(kthvalue, "kthvalue", out, (input, k, dim, keepdim), kwargs, exact=True)
    if kwargs:  # axis=, keepdims=
        dim, keepdim = numpy_kwargs(kwargs, "kthvalue", dim, keepdim, -1)
    d = wrap_dim(dim, input._data.ndim, "kthvalue")
    if input._data.ndim == 0:  # a 0-d tensor: a dimension of one element, 0-d results
        r = kthvalue(input.reshape(1), k, 0)
        return return_kthvalue(r.values, r.indices)
    vals, idx = sort(input, d)
    v = vals.narrow(d, k - 1, 1)
    i = idx.narrow(d, k - 1, 1)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return return_kthvalue(v, i)


def median(input: Tensor, dim=None, keepdim: bool = False, *, out=None, **kwargs):
    """The lower median (PyTorch's definition); with `dim`, (values, indices)."""
    if out is not None:
        return with_out(median, "median", out, (input, dim, keepdim), kwargs, exact=True)
    if kwargs:  # axis=, keepdims=
        dim, keepdim = numpy_kwargs(kwargs, "median", dim, keepdim)
    if dim is None:
        flat = input.reshape(-1)
        n = flat._data.shape[0]
        return sort(flat).values[(n - 1) // 2]
    d = wrap_dim(dim, input._data.ndim, "median")
    n = input._data.shape[d] if input._data.ndim else 1
    r = kthvalue(input, (n - 1) // 2 + 1, d, keepdim)
    return return_median(r.values, r.indices)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    if dim is not None:
        raise NotImplementedError("unique(dim=...) is not supported; flatten first")
    xp = get_xp(input._data)
    vals, inv, counts = xp.unique(input._data, return_inverse=True, return_counts=True)
    out = [Tensor._make(vals, input._device)]
    if return_inverse:
        out.append(Tensor._make(inv.reshape(input._data.shape).astype(np.int64), input._device))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64), input._device))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim=None):
    """The input with each run of equal consecutive elements collapsed to one (flattened when
    dim is None); optionally the run each element belongs to and the runs' lengths."""
    xp = get_xp(input._data)
    if dim is None:
        data = input._data.reshape(-1)
        if data.size == 0:
            starts = xp.zeros(0, dtype=bool)
        else:
            starts = xp.concatenate([xp.ones(1, dtype=bool), data[1:] != data[:-1]])
        values = data[starts]
    else:
        from .dims import wrap_dim

        d = wrap_dim(dim, input._data.ndim, "unique_consecutive")
        moved = xp.moveaxis(input._data, d, 0)
        n = moved.shape[0]
        if n == 0:
            starts = xp.zeros(0, dtype=bool)
        else:
            rest = (moved[1:] != moved[:-1]).reshape(n - 1, -1).any(axis=1)
            starts = xp.concatenate([xp.ones(1, dtype=bool), rest])
        values = xp.moveaxis(moved[starts], 0, d)
    out = [Tensor._make(xp.ascontiguousarray(values), input._device)]
    run = xp.cumsum(starts) - 1
    if return_inverse:
        inverse = run.reshape(input._data.shape) if dim is None else run
        out.append(Tensor._make(inverse.astype(np.int64), input._device))
    if return_counts:
        edges = xp.concatenate([xp.flatnonzero(starts), xp.asarray([starts.shape[0]])])
        out.append(Tensor._make(xp.diff(edges).astype(np.int64), input._device))
    return out[0] if len(out) == 1 else tuple(out)
