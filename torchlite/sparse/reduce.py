"""torch.sparse.sum, torch.sparse.softmax and torch.sparse.log_softmax, with autograd.

sum over every dim gives a dense scalar; over some sparse dims, a sparse tensor on the remaining
ones (dense once no sparse dim is left). softmax treats the entries a COO tensor does not hold as
-inf: the result has the input's (coalesced) pattern.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Op
from ..ops.dims import wrap_dim
from ..ops.scatter import add_at
from ..tensor import Tensor
from .coalesce import coalesce as coalesce_coo
from .coalesce import group
from .convert import _apply, pattern_grad, values_at
from .storage import COO, CSR
from .tensor import SparseTensor


class SumAll(Op):
    @staticmethod
    def forward(ctx, s, dtype):
        ctx.s = s
        v = s.values if dtype is None else s.values.astype(dtype)
        return backend.get_xp(v).asarray(v.sum(), dtype=v.dtype)

    @staticmethod
    def backward(ctx, g):
        s = ctx.s
        xp = backend.get_xp(s.values)
        vals = xp.broadcast_to(g.astype(s.dtype), s.values.shape).copy()
        return pattern_grad(s, vals), None


class SumDims(Op):
    @staticmethod
    def forward(ctx, s, sparse_dims, dense_dims):
        xp = backend.get_xp(s.values)
        sd = s.sparse_dim
        ctx.s, ctx.dense_axes = s, tuple(d - sd + 1 for d in dense_dims)
        vals = s.values.sum(axis=ctx.dense_axes) if dense_dims else s.values
        keep = [d for d in range(sd) if d not in sparse_dims]
        shape = [n for d, n in enumerate(s.shape) if d not in sparse_dims and d not in dense_dims]
        if not keep:  # no sparse dim left: a dense result
            ctx.inverse = None
            return vals.sum(axis=0)
        rest = COO(s.indices[keep], vals, shape)
        first, inverse = group(rest)
        out_vals = xp.zeros((first.shape[0],) + vals.shape[1:], dtype=vals.dtype)
        add_at(out_vals, inverse, vals)
        ctx.inverse = inverse
        ctx.out = out = COO(rest.indices[:, first], out_vals, shape, coalesced=True)
        return out

    @staticmethod
    def backward(ctx, g):
        s = ctx.s
        xp = backend.get_xp(s.values)
        if ctx.inverse is None:
            gv = xp.broadcast_to(g, (s.nnz,) + g.shape)
        else:
            gv = values_at(g, ctx.out)[ctx.inverse]
        for ax in sorted(ctx.dense_axes):
            gv = xp.expand_dims(gv, ax)
        vals = xp.broadcast_to(gv, s.values.shape).astype(s.dtype, copy=True)
        return pattern_grad(s, vals), None, None


def sum(input: SparseTensor, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A001
    """The sum of a sparse tensor's entries, over all dims (a dense scalar) or over `dim`.

    Shape: sums over dims drop them; the result is sparse while sparse dims remain.
    """
    if not isinstance(input, SparseTensor):
        raise RuntimeError("torch.sparse.sum: expected a sparse tensor")
    np_dtype = None if dtype is None else backend.to_dtype(dtype).np
    if dim is None:
        return SumAll.apply(input, np_dtype)
    s = input._data
    if isinstance(s, CSR):
        return sum(input.to_sparse(), dim, dtype)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    nd = s.ndim
    dims = sorted({wrap_dim(d, nd, "sparse.sum") for d in dims})
    if len(dims) == nd:
        return SumAll.apply(input, np_dtype)
    sd = s.sparse_dim
    sparse_dims = tuple(d for d in dims if d < sd)
    dense_dims = tuple(d for d in dims if d >= sd)
    src = input if np_dtype is None else input.to(dtype)
    return _apply(SumDims, src, sparse_dims, dense_dims)


class Softmax(Op):
    @staticmethod
    def forward(ctx, s, dim, log):
        xp = backend.get_xp(s.values)
        c = coalesce_coo(s)
        sd = c.sparse_dim
        if dim >= sd:  # softmax within each entry's dense values
            v = c.values
            ax = dim - sd + 1
            m = v.max(axis=ax, keepdims=True)
            e = xp.exp(v - m)
            tot = e.sum(axis=ax, keepdims=True)
            ctx.inverse = None
            ctx.ax = ax
        else:
            keep = [d for d in range(sd) if d != dim]
            if keep:
                _, inverse = group(COO(c.indices[keep], c.values, c.shape))
            else:
                inverse = xp.zeros(c.nnz, dtype=xp.int64)
            n = int(inverse.max()) + 1 if c.nnz else 0
            gshape = (n,) + c.values.shape[1:]
            maximum_at = getattr(xp.maximum, "at", None)
            if maximum_at is not None:
                m = xp.full(gshape, -xp.inf, dtype=c.dtype)
                maximum_at(m, inverse, c.values)
                e = xp.exp(c.values - m[inverse])
            else:  # no scatter-max here: shift by the overall maximum instead
                e = xp.exp(c.values - c.values.max())
            tot = xp.zeros(gshape, dtype=c.dtype)
            add_at(tot, inverse, e)
            tot = tot[inverse]
            ctx.inverse, ctx.n = inverse, n
        y = xp.log(e) - xp.log(tot) if log else e / tot
        ctx.log = log
        ctx.out = out = COO(c.indices, y, c.shape, coalesced=True)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = backend.get_xp(ctx.out.values)
        y = ctx.out.values
        gv = values_at(g, ctx.out)
        p = xp.exp(y) if ctx.log else y
        t = gv if ctx.log else gv * y
        if ctx.inverse is None:
            tot = t.sum(axis=ctx.ax, keepdims=True)
        else:
            acc = xp.zeros((ctx.n,) + y.shape[1:], dtype=y.dtype)
            add_at(acc, ctx.inverse, t)
            tot = acc[ctx.inverse]
        gx = gv - p * tot if ctx.log else y * (gv - tot)
        return COO(ctx.out.indices, gx, ctx.out.shape, True), None, None


def _softmax(input: SparseTensor, dim: int, dtype: Any, log: bool) -> SparseTensor:
    if not isinstance(input, SparseTensor) or not isinstance(input._data, COO):
        raise RuntimeError("torch.sparse.softmax: expected a sparse COO tensor")
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"softmax: expected a floating point tensor, got {input.dtype}")
    d = wrap_dim(dim, input._data.ndim, "sparse.softmax")
    return _apply(Softmax, input, d, log)


def softmax(input: SparseTensor, dim: int, *, dtype: Any = None) -> SparseTensor:
    """Softmax over `dim` of the entries a COO tensor holds (missing entries count as -inf)."""
    return _softmax(input, dim, dtype, False)


def log_softmax(input: SparseTensor, dim: int, *, dtype: Any = None) -> SparseTensor:
    """log of `softmax`, computed stably."""
    return _softmax(input, dim, dtype, True)
