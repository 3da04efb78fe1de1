"""transpose / t and index_select on sparse COO tensors, with autograd."""

from __future__ import annotations

from .. import backend
from ..autograd.function import Op
from ..ops.dims import wrap_dim
from ..ops.scatter import add_at
from ..tensor import Tensor
from .convert import _apply, pattern_grad, to_csr, values_at
from .storage import COO, CSR
from .tensor import SparseTensor


def _transpose(g, d0, d1):
    if not isinstance(g, (COO, CSR)):
        return backend.get_xp(g).swapaxes(g, d0, d1)
    if isinstance(g, CSR):
        g = g.to_coo()
    shape = list(g.shape)
    shape[d0], shape[d1] = shape[d1], shape[d0]
    sd = g.sparse_dim
    if d0 < sd:
        order = list(range(sd))
        order[d0], order[d1] = order[d1], order[d0]
        return COO(g.indices[order], g.values, shape)
    xp = backend.get_xp(g.values)
    return COO(g.indices, xp.swapaxes(g.values, d0 - sd + 1, d1 - sd + 1), shape, g.coalesced)


class Transpose(Op):
    @staticmethod
    def forward(ctx, s, d0, d1):
        ctx.d = (d0, d1)
        return _transpose(s, d0, d1)

    @staticmethod
    def backward(ctx, g):
        return _transpose(g, *ctx.d), None, None


def transpose(s: SparseTensor, dim0: int, dim1: int) -> SparseTensor:
    """Swap two dims of a sparse tensor (both sparse or both dense), as `Tensor.transpose`."""
    nd = s._data.ndim
    d0, d1 = sorted((wrap_dim(dim0, nd, "transpose"), wrap_dim(dim1, nd, "transpose")))
    if isinstance(s._data, CSR):
        return to_csr(transpose(s.to_sparse(), d0, d1))
    sd = s._data.sparse_dim
    if (d0 < sd) != (d1 < sd):
        raise RuntimeError(f"transpose(): cannot transpose a sparse dim with a dense dim "
                           f"(sparse_dim {sd}, dims {d0} and {d1})")
    if d0 == d1:
        return s
    return _apply(Transpose, s, d0, d1)


class IndexSelect(Op):
    @staticmethod
    def forward(ctx, s, dim, index):
        xp = backend.get_xp(s.values)
        shape = list(s.shape)
        shape[dim] = int(index.shape[0])
        ctx.s, ctx.dim, ctx.index = s, dim, index
        if dim >= s.sparse_dim:  # a dense dim: select within every entry's values
            ctx.src = None
            out = COO(s.indices, xp.take(s.values, index, axis=dim - s.sparse_dim + 1), shape,
                      s.coalesced)
        else:
            # entries whose index on `dim` equals index[k] become entries with index k there
            key = s.indices[dim]
            order = xp.argsort(key, kind="stable")
            ks = key[order]
            lo = xp.searchsorted(ks, index, side="left")
            counts = xp.searchsorted(ks, index, side="right") - lo
            ends = xp.cumsum(counts)
            total = int(ends[-1]) if ends.shape[0] else 0
            # output entry t comes from index position `which` (searchsorted, not repeat: CuPy's
            # repeat takes no array of counts), `offset` entries into its run of matches
            t = xp.arange(total, dtype=xp.int64)
            which = xp.searchsorted(ends, t, side="right").astype(xp.int64)
            offset = t - (ends - counts)[which]
            ctx.src = src = order[lo[which] + offset]
            idx = s.indices[:, src].copy()
            idx[dim] = which
            out = COO(idx, s.values[src], shape)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        s = ctx.s
        xp = backend.get_xp(s.values)
        gv = values_at(g, ctx.out)
        vals = xp.zeros(s.values.shape, dtype=gv.dtype)
        if ctx.src is None:
            add_at(vals, (slice(None),) * (ctx.dim - s.sparse_dim + 1) + (ctx.index,), gv)
        else:
            add_at(vals, ctx.src, gv)
        return pattern_grad(s, vals), None, None


def index_select(s: SparseTensor, dim: int, index: Tensor) -> SparseTensor:
    """The slices of `s` at `index` along `dim`, as `Tensor.index_select` (a sparse result)."""
    if isinstance(s._data, CSR):
        return index_select(s.to_sparse(), dim, index)
    if not isinstance(index, Tensor) or index._data.ndim > 1 or index._data.dtype.kind not in "iu":
        raise IndexError("index_select(): Expected a 1-D integer index tensor")
    d = wrap_dim(dim, s._data.ndim, "index_select")
    idx = index._data.reshape(-1).astype("int64", copy=False)
    if backend.get_xp(idx).__name__ == "numpy" and idx.size and (
            idx.min() < 0 or idx.max() >= s._data.shape[d]):
        raise IndexError(f"index_select(): index out of range in self (size {s._data.shape[d]} "
                         f"at dim {d})")
    return _apply(IndexSelect, s, d, idx)
