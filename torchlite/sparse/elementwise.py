"""Elementwise arithmetic with sparse tensors, as PyTorch defines it: sparse + sparse (the
entries of both), dense + sparse (dense), sparse * scalar, sparse * sparse (the common
entries), sparse * dense (sparse), sparse / scalar. `sparse + dense` is refused, as in PyTorch.
"""

from __future__ import annotations

import numbers
from typing import Any

from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor
from .coalesce import coalesce as coalesce_coo
from .convert import _apply, mask_like, to_csr, values_at
from .storage import COO, CSR
from .tensor import SparseTensor


def _scale(s, c):
    if c == 1:
        return s
    if isinstance(s, CSR):
        return CSR(s.crow, s.col, s.values * s.values.dtype.type(c), s.shape)
    if isinstance(s, COO):
        return COO(s.indices, s.values * s.values.dtype.type(c), s.shape, s.coalesced)
    return s * s.dtype.type(c)


class AddSparse(Op):
    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        out = a + _scale(b, alpha)
        if a.coalesced and b.coalesced:
            out = coalesce_coo(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g, _scale(g, ctx.alpha), None


class AddDense(Op):
    @staticmethod
    def forward(ctx, d, s, alpha):
        ctx.alpha = alpha
        return _scale(s, alpha).add_to_dense(d)

    @staticmethod
    def backward(ctx, g):
        return g, _scale(g, ctx.alpha), None


class MulScalar(Op):
    @staticmethod
    def forward(ctx, s, c):
        ctx.c = c
        return _scale(s, c)

    @staticmethod
    def backward(ctx, g):
        return _scale(g, ctx.c), None


class MulDense(Op):
    """sparse * dense (broadcast to the sparse shape): sparse, on the sparse tensor's entries."""

    @staticmethod
    def forward(ctx, s, d):
        xp = backend.get_xp(s.values)
        d = xp.broadcast_to(d, s.shape)
        ctx.s, ctx.d = s, d
        return COO(s.indices, s.values * d[tuple(s.indices)], s.shape, s.coalesced)

    @staticmethod
    def backward(ctx, g):
        s, d = ctx.s, ctx.d
        gv = values_at(g, s)
        gs = gd = None
        if ctx.needs_input_grad[0]:
            m = mask_like(g, s)
            gs = COO(m.indices, m.values * d[tuple(m.indices)], s.shape, True)
        if ctx.needs_input_grad[1]:
            gd = COO(s.indices, gv * s.values, s.shape, s.coalesced).to_dense()
        return gs, gd


class MulSparse(Op):
    @staticmethod
    def forward(ctx, a, b):
        a, b = coalesce_coo(a), coalesce_coo(b)
        xp = backend.get_xp(a.values)
        bv = values_at(b, a)
        # which of a's entries b holds (b's stored zeros count: they are entries)
        present = values_at(COO(b.indices, xp.ones(b.nnz, dtype=xp.int8), b.shape, True), a)
        keep = present != 0
        idx = a.indices[:, keep]
        ctx.a = COO(idx, a.values[keep], a.shape, True)
        ctx.b = COO(idx, bv[keep], a.shape, True)
        return COO(idx, ctx.a.values * ctx.b.values, a.shape, True)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.a, ctx.b
        gv = values_at(g, a)
        return (COO(a.indices, gv * b.values, a.shape, True),
                COO(a.indices, gv * a.values, a.shape, True))


def _is_scalar(x: Any) -> bool:
    return isinstance(x, numbers.Number) or (isinstance(x, Tensor) and not isinstance(
        x, SparseTensor) and x._data.ndim == 0)


def _coo(x: SparseTensor) -> SparseTensor:
    return x.to_sparse() if isinstance(x._data, CSR) else x


def add(a: Any, b: Any, *, alpha: Any = 1) -> Tensor:
    """a + alpha * b with a sparse operand (PyTorch's rules on which combinations exist)."""
    a_sp, b_sp = isinstance(a, SparseTensor), isinstance(b, SparseTensor)
    if a_sp and b_sp:
        csr = isinstance(a._data, CSR) and isinstance(b._data, CSR)
        if a.shape != b.shape:
            raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has "
                               f"size {list(a.shape)} while other has size {list(b.shape)}")
        out = _apply(AddSparse, _coo(a), _coo(b), alpha)
        return to_csr(out) if csr else out
    if a_sp:
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    if not isinstance(a, Tensor):
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has "
                           f"size {list(a.shape)} while other has size {list(b.shape)}")
    return AddDense.apply(a, b, alpha)


def mul(a: Any, b: Any) -> Tensor:
    """a * b with a sparse operand: the result is sparse."""
    if not isinstance(a, SparseTensor):
        a, b = b, a
    if _is_scalar(b):
        c = b.item() if isinstance(b, Tensor) else b
        return _apply(MulScalar, a, c)
    if isinstance(b, SparseTensor):
        if a.shape != b.shape:
            raise RuntimeError(f"mul: sizes {list(a.shape)} and {list(b.shape)} do not match")
        return _apply(MulSparse, _coo(a), _coo(b))
    if not isinstance(b, Tensor):
        raise TypeError(f"mul: unsupported operand {type(b).__name__}")
    if tuple(b.shape) != tuple(a.shape):
        raise RuntimeError(f"mul: a sparse tensor of size {list(a.shape)} times a dense one of "
                           f"size {list(b.shape)}: the sizes must match")
    return _apply(MulDense, _coo(a), b)


def div(a: SparseTensor, b: Any) -> Tensor:
    """sparse / scalar."""
    if not _is_scalar(b):
        raise RuntimeError("div: a sparse tensor can only be divided by a scalar")
    c = b.item() if isinstance(b, Tensor) else b
    return _apply(MulScalar, a, 1.0 / c)


__all__ = ["add", "mul", "div", "mask_like"]
