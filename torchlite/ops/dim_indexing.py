"""Indexing along one dimension: index_select, gather, take_along_dim, scatter, scatter_add,
index_add. Each takes an index tensor and a dim; their backwards scatter-add, so repeated indices
sum their gradients.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from .dims import wrap_dim
from .out import with_out
from .scatter import add_at, along_axis_key


class IndexSelect(Op):
    @staticmethod
    def forward(ctx, x, axis, idx):
        ctx.shape, ctx.axis, ctx.dtype = x.shape, axis, x.dtype
        ctx.save_for_backward(idx)
        return get_xp(x).take(x, idx, axis=axis)

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        xp = get_xp(g)
        out = xp.zeros(ctx.shape, dtype=ctx.dtype)
        key = (slice(None),) * ctx.axis + (idx,)
        add_at(out, key, g)
        return out, None, None


def index_array(index, input: Tensor, op: str):
    """The raw array of an index tensor, checked as PyTorch checks one (integer dtype, the
    input's device)."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype}")
    if index._device is not input._device:  # the index goes to the op as a raw array
        raise RuntimeError(
            f"{op}(): expected all tensors to be on the same device, but found at least two "
            f"devices, {input._device} (self) and {index._device} (index)"
        )
    return index._data


def _out_of_range(idx, n: int) -> bool:
    """Whether an index array holds a value outside [-n, n). Checked on the CPU only: on a GPU
    the check would read the indices back and stall the device every call."""
    return get_xp(idx) is np and idx.size > 0 and (int(idx.max()) >= n or int(idx.min()) < -n)


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The entries of `input` at positions `index` (a vector) along `dim`. Out-of-range indices
    raise IndexError on the CPU; on a GPU they are not checked (the check would stall it)."""
    if out is not None:
        return with_out(index_select, "index_select", out, (input, dim, index), exact=True)
    d = wrap_dim(dim, input._data.ndim, "index_select")
    idx = index_array(index, input, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    n = input._data.shape[d] if input._data.ndim else 1
    if _out_of_range(idx, n):
        raise IndexError(f"index_select(): index out of range in self (dim {d} has size {n})")
    if input._data.ndim == 0:  # a 0-d tensor gives a 0-d result, as PyTorch
        return IndexSelect.apply(input.reshape(1), 0, idx.reshape(-1)).reshape(())
    return IndexSelect.apply(input, d, idx.reshape(-1))


class Gather(Op):
    @staticmethod
    def forward(ctx, x, axis, idx):
        xp = get_xp(x)
        ctx.shape, ctx.axis, ctx.dtype = x.shape, axis, x.dtype
        key = along_axis_key(idx, axis, xp)
        ctx.key = key
        return x[key]

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        out = xp.zeros(ctx.shape, dtype=ctx.dtype)
        add_at(out, ctx.key, g)
        return out, None, None


def _check_gather(input, d, idx, op):
    if idx.ndim != input._data.ndim:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input tensor "
            f"(got {idx.ndim} and {input._data.ndim})"
        )
    for i, (a, b) in enumerate(zip(idx.shape, input._data.shape)):
        if i != d and a > b:
            raise RuntimeError(
                f"{op}(): Size does not match at dimension {i} expected index "
                f"{list(idx.shape)} to be smaller than self {list(input._data.shape)} apart "
                f"from dimension {d}"
            )
    n = input._data.shape[d]
    if _out_of_range(idx, n):
        raise RuntimeError(f"{op}(): index {int(idx.max())} is out of bounds for dimension {d} "
                           f"with size {n}")


def gather(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """out[i][j] = input[index[i][j]][j] (dim=0), and so on for other dims. Out-of-range indices
    raise RuntimeError on the CPU; on a GPU they are not checked (the check would stall it)."""
    if out is not None:
        return with_out(gather, "gather", out, (input, dim, index), exact=True)
    d = wrap_dim(dim, input._data.ndim, "gather")
    idx = index_array(index, input, "gather")
    if input._data.ndim == 0:  # 0-d input and index (PyTorch's only 0-d case): 0-d result
        if idx.ndim:
            raise RuntimeError("gather(): Index tensor must have the same number of dimensions "
                               f"as input tensor (got {idx.ndim} and 0)")
        if _out_of_range(idx, 1):
            raise RuntimeError(f"gather(): index {int(idx)} is out of bounds for dimension 0 "
                               "with size 1")
        return Gather.apply(input.reshape(1), 0, idx.reshape(1)).reshape(())
    _check_gather(input, d, idx, "gather")
    return Gather.apply(input, d, idx)


class Scatter(Op):
    @staticmethod
    def forward(ctx, x, src, axis, idx, accumulate):
        xp = get_xp(x)
        key = along_axis_key(idx, axis, xp)
        ctx.key, ctx.accumulate = key, accumulate
        ctx.msrc = (src.shape, src.dtype) if hasattr(src, "shape") else None
        out = x.copy()
        vals = src[tuple(slice(0, s) for s in idx.shape)] if hasattr(src, "shape") else src
        if accumulate:
            add_at(out, key, vals)  # (an int64 scatter_add on a GPU goes through the host)
        else:
            out[key] = vals
        return out

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        gx = gsrc = None
        if ctx.needs_input_grad[0]:
            gx = g if ctx.accumulate else g.copy()
            if not ctx.accumulate:
                gx[ctx.key] = 0
        if ctx.needs_input_grad[1] and ctx.msrc is not None:
            gsrc = xp.zeros(ctx.msrc[0], dtype=ctx.msrc[1])
            part = g[ctx.key]
            gsrc[tuple(slice(0, s) for s in part.shape)] = part
        return gx, gsrc, None, None, None


def scatter_args(input, dim, index, src, op):
    """(dim, index array) of a scatter, checked as PyTorch checks them."""
    d = wrap_dim(dim, input._data.ndim, op)
    idx = index_array(index, input, op)
    _check_gather(input, d, idx, op)
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype "
                               f"({input.dtype} vs {src.dtype})")
        if src._data.ndim != idx.ndim or any(a > b for a, b in zip(idx.shape, src._data.shape)):
            raise RuntimeError(
                f"{op}(): Expected index {list(idx.shape)} to be no larger than self "
                f"{list(input._data.shape)} apart from dimension {d} and to be no larger size "
                f"than src {list(src._data.shape)}")
    return d, idx


def _scatter(input, dim, index, src, accumulate, op):
    d, idx = scatter_args(input, dim, index, src, op)
    return Scatter.apply(input, src, d, idx, accumulate)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor, *, out=None) -> Tensor:
    """out = input with src added at index along dim (repeated indices accumulate)."""
    if out is not None:
        return with_out(scatter_add, "scatter_add", out, (input, dim, index, src))
    return _scatter(input, dim, index, src, True, "scatter_add")


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1,
              out=None) -> Tensor:
    """out = input with alpha * source[..., i, ...] added at input[..., index[i], ...] along dim
    (repeated indices accumulate). Shape: source is input's shape with len(index) at dim."""
    if out is not None:
        return with_out(index_add, "index_add", out, (input, dim, index, source), {"alpha": alpha})
    d = wrap_dim(dim, input._data.ndim, "index_add")
    idx = index_array(index, input, "index_add")
    if idx.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    want = list(input._data.shape)
    if want:
        want[d] = idx.size
    if not isinstance(source, Tensor) or list(source._data.shape) != want:
        got = list(source._data.shape) if isinstance(source, Tensor) else type(source).__name__
        raise RuntimeError(f"index_add_(): source must have shape {want} (self's shape with "
                           f"len(index) at dim {d}), got {got}")
    if alpha != 1:
        from .elementwise import mul

        source = mul(source, alpha)
    shape = [1] * len(want)
    if shape:
        shape[d] = idx.size
    full = get_xp(idx).broadcast_to(idx.reshape(shape), tuple(want))
    return _scatter(input, d, Tensor._make(full, input._device), source, True, "index_add")


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None, out=None):
    """out = input with src (a tensor, or a number as `value`) written at index along dim;
    reduce='add' or 'multiply' combines instead of writing."""
    if out is not None:
        return with_out(scatter, "scatter", out,
                        (input, dim, index, src), {"value": value, "reduce": reduce})
    if src is None:
        src = value
    if reduce is None:
        return _scatter(input, dim, index, src, False, "scatter")
    if reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if not isinstance(src, Tensor):  # a number: one value for every index
        from .creation import full

        src = full(tuple(index.shape), src, dtype=input.dtype, device=input.device)
    from .scatter_reduce import scatter_reduce

    return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")


def take_along_dim(input: Tensor, indices: Tensor, dim=None, *, out=None) -> Tensor:
    if out is not None:
        return with_out(take_along_dim, "take_along_dim", out, (input, indices, dim), exact=True)
    if dim is None:
        from .shape import reshape

        return gather(reshape(input, -1), 0, reshape(indices, -1))
    return gather(input, dim, indices)
