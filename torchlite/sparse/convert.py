"""Conversions between layouts, with autograd: to_dense, to_sparse (COO), to_sparse_csr,
coalesce, values, and building a COO tensor from differentiable values.

Gradients follow PyTorch: a dense tensor's gradient through to_sparse is dense; a sparse
tensor's gradient through to_dense is sparse, restricted to its own pattern (`sparse_mask`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor
from .coalesce import coalesce as coalesce_coo
from .coalesce import group, linear_keys
from .storage import COO, CSR
from .tensor import SparseTensor, as_sparse


def _apply(op: type[Op], *args: Any) -> Any:
    return as_sparse(op.apply(*args))


def values_at(g, pattern: COO):
    """The entries of gradient `g` (dense array, COO or CSR) at `pattern`'s indices, in
    pattern's order: shape (nnz, *dense_dims). Entries `g` does not hold are zero."""
    if isinstance(g, CSR):
        g = g.to_coo()
    if not isinstance(g, COO):
        return g[tuple(pattern.indices)]
    if g.indices is pattern.indices:
        return g.values
    xp = backend.get_xp(pattern.values)
    g = coalesce_coo(g)
    out = xp.zeros((pattern.nnz,) + g.values.shape[1:], dtype=g.values.dtype)
    if g.nnz == 0 or pattern.nnz == 0:
        return out
    sizes = pattern.shape[:pattern.sparse_dim]
    gkeys = linear_keys(g.indices, sizes)
    pkeys = linear_keys(pattern.indices, sizes)
    pos = xp.minimum(xp.searchsorted(gkeys, pkeys), g.nnz - 1)
    found = gkeys[pos] == pkeys
    out[found] = g.values[pos[found]]
    return out


def mask_like(g, pattern):
    """`g` restricted to the entries of `pattern` (COO or CSR), in that layout: each position
    once (a gradient is a tensor: a duplicated index would count its value twice)."""
    if isinstance(pattern, CSR):
        coo = pattern.to_coo()
        return CSR(pattern.crow, pattern.col, values_at(g, coo), pattern.shape)
    pattern = unique_pattern(pattern)
    return COO(pattern.indices, values_at(g, pattern), pattern.shape, True)


def sorted_distinct(s: COO) -> bool:
    """Whether `s`'s indices are already sorted and distinct (one linear pass, cheaper than the
    sort a coalesce would do; PyTorch's constructor does not flag such input as coalesced)."""
    if s.nnz < 2:
        return True
    xp = backend.get_xp(s.indices)
    keys = linear_keys(s.indices, s.shape[:s.sparse_dim])
    return bool(xp.all(keys[1:] > keys[:-1]))


def unique_pattern(s: COO) -> COO:
    """`s`'s positions, each once (s itself when coalesced; values are not summed)."""
    if s.coalesced or sorted_distinct(s):
        return s
    first, _ = group(s)
    return COO(s.indices[:, first], s.values[first], s.shape, True)


def pattern_grad(s, per_entry):
    """The gradient tensor of sparse `s` from `per_entry` values (one per stored entry, equal
    for entries at the same position): s's layout, each position once."""
    if isinstance(s, CSR):
        return CSR(s.crow, s.col, per_entry, s.shape)
    if s.coalesced or sorted_distinct(s):
        return COO(s.indices, per_entry, s.shape, True)
    first, _ = group(s)
    return COO(s.indices[:, first], per_entry[first], s.shape, True)


def to_dense_array(g):
    return g.to_dense() if isinstance(g, (COO, CSR)) else g


class ToDense(Op):
    @staticmethod
    def forward(ctx, s):
        ctx.s = s
        return s.to_dense()

    @staticmethod
    def backward(ctx, g):
        return mask_like(g, ctx.s)


class FromDense(Op):
    @staticmethod
    def forward(ctx, x, sparse_dim):
        xp = backend.get_xp(x)
        nz = x != 0
        if sparse_dim < x.ndim:
            nz = nz.reshape(x.shape[:sparse_dim] + (-1,)).any(axis=-1)
        idx = xp.stack(xp.nonzero(nz)).astype(xp.int64).reshape(sparse_dim, -1)
        return COO(idx, x[tuple(idx)], x.shape, coalesced=True)

    @staticmethod
    def backward(ctx, g):
        return to_dense_array(g), None


class ToCSR(Op):
    @staticmethod
    def forward(ctx, x):
        if isinstance(x, COO):
            if x.ndim != 2 or x.sparse_dim != 2:
                raise RuntimeError("to_sparse_csr: only 2-D COO tensors without dense dims are "
                                   f"supported, got size {list(x.shape)}")
            ctx.coo = c = coalesce_coo(x)
        else:
            if x.ndim != 2:
                raise RuntimeError(f"to_sparse_csr: expected a 2-D tensor, got {x.ndim}-D")
            c = FromDense.forward(ctx, x, 2)
            ctx.coo = None
        xp = backend.get_xp(c.values)
        counts = xp.bincount(c.indices[0], minlength=c.shape[0]) if c.nnz else \
            xp.zeros(c.shape[0], dtype=xp.int64)
        crow = xp.concatenate([xp.zeros(1, dtype=xp.int64), xp.cumsum(counts)]).astype(xp.int64)
        return CSR(crow, c.indices[1].copy(), c.values, c.shape)

    @staticmethod
    def backward(ctx, g):
        if ctx.coo is None:
            return to_dense_array(g)
        return mask_like(g, ctx.coo)


class CSRToCOO(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x.to_coo()

    @staticmethod
    def backward(ctx, g):
        return mask_like(g, ctx.x)


class Coalesce(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return coalesce_coo(x)

    @staticmethod
    def backward(ctx, g):
        return mask_like(g, ctx.x)


class Values(Op):
    @staticmethod
    def forward(ctx, s):
        ctx.s = s
        return s.values

    @staticmethod
    def backward(ctx, g):
        s = ctx.s
        if isinstance(s, CSR):
            return CSR(s.crow, s.col, g, s.shape)
        return COO(s.indices, g, s.shape, s.coalesced)


class FromValues(Op):
    @staticmethod
    def forward(ctx, values, indices, shape, coalesced):
        ctx.pattern = out = COO(indices, values, shape, coalesced)
        return out

    @staticmethod
    def backward(ctx, g):
        return values_at(g, ctx.pattern), None, None, None


class FromCSRValues(Op):
    @staticmethod
    def forward(ctx, values, crow, col, shape):
        ctx.pattern = out = CSR(crow, col, values, shape)
        return out

    @staticmethod
    def backward(ctx, g):
        return mask_like(g, ctx.pattern).values, None, None, None


class Clone(Op):
    @staticmethod
    def forward(ctx, s):
        return s.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Cast(Op):
    @staticmethod
    def forward(ctx, s, dtype, dev):
        ctx.dtype, ctx.dev = s.dtype, backend.array_device(s.values)
        return _move(s, dtype, dev)

    @staticmethod
    def backward(ctx, g):
        return _move(g, ctx.dtype, ctx.dev), None, None


def _move(s, dtype, dev):
    if not isinstance(s, (COO, CSR)):
        return backend.move(s, dev).astype(dtype, copy=False)
    if isinstance(s, CSR):
        return CSR(backend.move(s.crow, dev), backend.move(s.col, dev),
                   backend.move(s.values, dev).astype(dtype, copy=False), s.shape)
    return COO(backend.move(s.indices, dev), backend.move(s.values, dev).astype(dtype, copy=False),
               s.shape, s.coalesced)


def to_dense(s: SparseTensor) -> Tensor:
    return ToDense.apply(s)


def to_coo(x: Tensor, sparse_dim: int | None = None) -> SparseTensor:
    """A dense tensor's nonzeros (or a CSR tensor) as a COO tensor."""
    if isinstance(x._data, CSR):
        return _apply(CSRToCOO, x)
    nd = x._data.ndim
    sd = nd if sparse_dim is None else int(sparse_dim)
    if not 0 < sd <= nd if nd else sd != 0:
        raise RuntimeError(f"to_sparse: sparse_dim must be in [1, {nd}], got {sparse_dim}")
    return _apply(FromDense, x, sd)


def to_csr(x: Tensor) -> SparseTensor:
    return _apply(ToCSR, x)


def coalesce(s: SparseTensor) -> SparseTensor:
    coo = s._coo("coalesce")
    if coo.coalesced:
        return s
    return _apply(Coalesce, s)


def values(s: SparseTensor) -> Tensor:
    return Values.apply(s)


def clone(s: SparseTensor) -> SparseTensor:
    return _apply(Clone, s)


def to(s: SparseTensor, *args: Any, **kwargs: Any) -> SparseTensor:
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    for a in args:
        if isinstance(a, backend.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype, dev = a.dtype, a.device
        elif a is not None:
            dev = a
    dev = s._device if dev is None else backend.to_device(dev)
    np_dtype = s._data.dtype if dtype is None else backend.to_dtype(dtype).np
    if dev == s._device and np.dtype(np_dtype) == s._data.dtype:
        return s
    if dev.type != "cpu":
        backend.xp_for(dev)  # "CUDA is not available" before anything moves
    out = as_sparse(Cast.apply(s, np_dtype, dev))
    out._device = dev
    return out
