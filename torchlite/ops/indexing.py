"""Indexing with a key: x[key] (basic and advanced), x[key] = v, index_put, masked_fill,
masked_select, nonzero, take.

Basic keys (ints, slices, None, ...) give views. Advanced keys (integer or boolean tensors, lists)
copy, and their backward accumulates with a scatter-add so repeated indices sum their gradients.
The ops indexing along one dim (index_select, gather, scatter, ...) live in dim_indexing and are
re-exported here, where callers have long imported them from.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Op
from ..autograd.views import check_inplace, inplace, rebase, view_of
from ..backend import get_xp
from ..tensor import Tensor
from .broadcast import unbroadcast
from .dim_indexing import (  # noqa: F401  (re-exported: the import path callers use)
    Gather,
    IndexSelect,
    Scatter,
    gather,
    index_add,
    index_select,
    scatter,
    scatter_add,
    scatter_args,
    take_along_dim,
)
from .out import with_out
from .scatter import add_at
from .shape import Slice

_SEQUENCE_WARNING = (
    "Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed "
    "in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be "
    "interpreted as tensor index, x[torch.tensor(seq)], which will result either in an error or "
    "a different result")
_GPU_INDEX_ERROR = ("indices should be either on cpu or on the same device as the indexed "
                    "tensor (cpu), got indices on a GPU")


def _sequence_as_tuple(key) -> bool:
    """PyTorch's rule for a list key: a short list holding a slice, None, ..., a tensor or a
    sequence is a tuple of indices (x[[0, slice(None)]] is x[0, :]); otherwise it is one index
    tensor (x[[0, 1]])."""
    if len(key) >= 32:
        return False
    for k in key:  # (a loop: cheaper than any() over a generator for the usual short lists)
        if k is None or k is Ellipsis or isinstance(k, (slice, Tensor, list, tuple)):
            return True
    return False


def _convert_key(key, xp, shape):
    """Turn Tensors, lists and nested tuples inside an index key into arrays; say whether it is
    basic. A key mixing integers with index arrays comes back as a `_SplitKey`."""
    if isinstance(key, list) and _sequence_as_tuple(key):
        warnings.warn(_SEQUENCE_WARNING, UserWarning, stacklevel=3)
        key = tuple(key)
    elif not isinstance(key, tuple):
        key = (key,)
    out, basic, ints = [], True, False
    for k in key:
        if isinstance(k, Tensor):
            if xp is np and k._device.type != "cpu":
                raise IndexError(_GPU_INDEX_ERROR)
            k = xp.asarray(k._data)  # (a CPU index tensor for a GPU tensor is moved, as PyTorch)
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
                ints = True
            else:
                basic = False
                if k.dtype.kind in "fV":
                    raise IndexError(
                        "tensors used as indices must be long, int, byte or bool tensors"
                    )
        elif (isinstance(k, (list, tuple, np.ndarray, range))
              or hasattr(k, "__cuda_array_interface__")):
            if isinstance(k, range):  # x[range(2)] is x[[0, 1]], as PyTorch (empty included)
                k = xp.arange(k.start, k.stop, k.step, dtype=np.int64)
            elif isinstance(k, (list, tuple)):  # x[(0,), ] and x[a, (1, 1)]: index tensors
                # (0-d Tensors inside convert through __array__; [] indexes nothing, as int64)
                k = np.asarray(k) if k else np.zeros(0, np.int64)
            elif xp is np and get_xp(k) is not np:
                raise IndexError(_GPU_INDEX_ERROR)
            k = xp.asarray(k)
            basic = False
            if k.dtype.kind in "fV":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(k, (bool, np.bool_)):
            basic = False
            k = xp.asarray(k)
        elif isinstance(k, (int, np.integer)):
            ints = True
        elif not (k is None or k is Ellipsis or isinstance(k, slice)):
            raise IndexError(
                f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                f"are valid indices (got {type(k).__name__})"
            )
        if isinstance(k, slice) and k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")
        out.append(k)
    if ints and not basic:
        return _SplitKey(out), False
    return tuple(out), basic


class _SplitKey:
    """An index mixing integers with index arrays, split as PyTorch applies it: the integers
    select first (`pre`, a basic key giving a view), then the arrays index what is left (`adv`).
    NumPy instead counts the integers as index arrays, which moves the indexed dimensions:
    on a (2, 3, 4, 5) array, x[1, :, idx, 0:2] is (3, 2, 2) in PyTorch and (2, 3, 2) in NumPy."""

    __slots__ = ("pre", "adv")

    def __init__(self, key):
        pre, adv = [], []
        for k in key:
            if isinstance(k, (int, np.integer)):
                pre.append(k)
                continue
            adv.append(k)
            if k is Ellipsis:
                pre.append(k)
            elif isinstance(k, slice):
                pre.append(slice(None))
            elif k is not None and k.ndim:  # an array: a bool mask spans k.ndim dimensions
                pre.extend([slice(None)] * (k.ndim if k.dtype == np.bool_ else 1))
            elif k is not None and k.dtype != np.bool_:
                pre.append(slice(None))
        self.pre, self.adv = tuple(pre), tuple(adv)


def _read(a, key):
    if isinstance(key, _SplitKey):
        return a[key.pre][key.adv]
    return a[key]


def _write(a, key, v) -> None:
    if isinstance(key, _SplitKey):
        a = a[key.pre]  # a view: writing into it writes into `a`
        key = key.adv
    a[key] = v


def _add(a, key, v) -> None:
    if isinstance(key, _SplitKey):
        a = a[key.pre]
        key = key.adv
    add_at(a, key, v)


class AdvIndex(Op):
    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key, ctx.dtype = x.shape, key, x.dtype
        try:
            return x[key]
        except IndexError as exc:
            raise IndexError(f"index: {exc} (tensor shape {tuple(x.shape)})") from None

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        out = xp.zeros(ctx.shape, dtype=ctx.dtype)
        add_at(out, ctx.key, g)  # repeated indices accumulate
        return out, None


def getitem(self: Tensor, key) -> Tensor:
    xp = get_xp(self._data)
    k, basic = _convert_key(key, xp, self._data.shape)
    if basic:
        try:
            return view_of(Slice.apply(self, k), self, Slice, k)
        except IndexError as exc:
            raise IndexError(f"{exc} (tensor shape {tuple(self._data.shape)})") from None
    if isinstance(k, _SplitKey):  # the integers select first, as PyTorch: a view, then the rest
        try:
            self = view_of(Slice.apply(self, k.pre), self, Slice, k.pre)
        except IndexError as exc:
            raise IndexError(f"{exc} (tensor shape {tuple(self._data.shape)})") from None
        k = k.adv
    return AdvIndex.apply(self, k)


class IndexPut(Op):
    @staticmethod
    def forward(ctx, x, v, key):
        ctx.key, ctx.mv = key, (v.shape, v.dtype) if hasattr(v, "shape") else None
        out = x.copy()
        _write(out, key, v)
        return out

    @staticmethod
    def backward(ctx, g):
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g.copy()
            _write(gx, ctx.key, 0)
        gv = None
        if ctx.needs_input_grad[1] and ctx.mv is not None:
            gv = unbroadcast(_read(g, ctx.key), ctx.mv[0], ctx.mv[1])
        return gx, gv, None


class IndexPutAccumulate(Op):
    @staticmethod
    def forward(ctx, x, v, key):
        ctx.key, ctx.mv = key, (v.shape, v.dtype)
        out = x.copy()
        _add(out, key, v)  # repeated indices add up
        return out

    @staticmethod
    def backward(ctx, g):
        gv = unbroadcast(_read(g, ctx.key), *ctx.mv) if ctx.needs_input_grad[1] else None
        return g, gv, None


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of `input` with `input[indices] = values` (`indices` a tuple of integer or bool
    tensors, `values` broadcast to the selection); with `accumulate=True` the values are added,
    repeated indices summing. Differentiable in `input` and `values`."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): values must be a Tensor, got {type(values).__name__}")
    if values.dtype != input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{input.dtype} for the destination and {values.dtype} for the source.")
    if values._device is not input._device:
        raise RuntimeError(f"index_put(): values are on {values._device} but the tensor is on "
                           f"{input._device}")
    key, _ = _convert_key(tuple(indices), get_xp(input._data), input._data.shape)
    op = IndexPutAccumulate if accumulate else IndexPut
    try:
        return op.apply(input, values, key)
    except (ValueError, IndexError) as exc:
        raise type(exc)(f"index_put: {exc} (tensor shape {tuple(input._data.shape)})") from None


def index_put_(self: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place index_put; returns self."""
    # positional, so the in-place machinery sees `values` when it alone needs a gradient
    return inplace(self, index_put, indices, values, accumulate)


def setitem(self: Tensor, key, value) -> None:
    """x[key] = value, in place. Recorded in the graph when x or value needs a gradient."""
    xp = get_xp(self._data)
    k, _ = _convert_key(key, xp, self._data.shape)
    v = value
    if isinstance(v, Tensor):
        if v._device is not self._device:
            raise RuntimeError(f"setitem: value is on {v._device} but the tensor is on "
                               f"{self._device}")
        lead = 0
        while lead < v._data.ndim and v._data.shape[lead] == 1:
            lead += 1
        if lead:  # x[0] = t of shape (1,): leading ones are dropped, as PyTorch does
            from .shape import reshape

            v = reshape(v, v._data.shape[lead:])
    needs = grad_mode._state.enabled and (
        self.requires_grad or (isinstance(v, Tensor) and v.requires_grad)
    )
    if needs:
        check_inplace(self)
        if isinstance(v, Tensor) and v._data.dtype != self._data.dtype:
            v = v.to(self.dtype)
        result = IndexPut.apply(self, v, k)
        rebase(self, result)
        return
    src = v._data if isinstance(v, Tensor) else v
    if isinstance(src, np.generic):
        src = src.item()
    try:
        _write(self._data, k, src)
    except (ValueError, IndexError) as exc:
        raise type(exc)(f"setitem: {exc} (tensor shape {tuple(self._data.shape)})") from None
    self._bump()


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """Where `mask` is true, `value`; elsewhere the input (mask broadcasts)."""
    from .ternary import where

    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        raise RuntimeError("masked_fill only supports boolean masks, but got mask with dtype "
                           f"{getattr(mask, 'dtype', type(mask).__name__)}")
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        value = value.to(input.dtype)
    out = where(mask, value, input)
    if out._data.dtype != input._data.dtype:
        out = out.to(input.dtype)
    if out._data.shape != input._data.shape:
        raise RuntimeError(
            f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast to the input's "
            f"shape {tuple(input.shape)}"
        )
    return out


def masked_select(input: Tensor, mask: Tensor, *, out=None) -> Tensor:
    if out is not None:
        return with_out(masked_select, "masked_select", out, (input, mask), exact=True)
    from .shape import expand

    shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    return getitem(expand(input, shape), expand(mask, shape)._data)


def nonzero(input: Tensor, *, as_tuple: bool = False, out=None):
    if out is not None:
        return with_out(nonzero, "nonzero", out, (input,), {"as_tuple": as_tuple})
    xp = get_xp(input._data)
    if input._data.ndim == 0:  # one element: (1, 0) when it is nonzero, (0, 0) when not
        n = int(bool(input._data))
        if as_tuple:
            return (Tensor._make(xp.zeros(n, np.int64), input._device),)
        return Tensor._make(xp.zeros((n, 0), np.int64), input._device)
    idx = xp.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64), input._device) for i in idx)
    return Tensor._make(xp.stack(idx, axis=1).astype(np.int64) if idx else
                        xp.zeros((0, 0), np.int64), input._device)


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def take(input: Tensor, index: Tensor, *, out=None) -> Tensor:
    if out is not None:
        return with_out(take, "take", out, (input, index), exact=True)
    from .shape import reshape

    return getitem(reshape(input, -1), index)
