"""Sparse x dense matrix products with autograd: torch.sparse.mm, torch.mm / @ with a sparse
argument, torch.sparse.addmm. The products run in scipy.sparse (cupyx.scipy.sparse on a GPU).

Gradient layouts are PyTorch's: `torch.sparse.mm(A, B)` gives A a sparse gradient restricted to
A's pattern; `torch.mm(A, B)` and `A @ B` give A a dense gradient. B's gradient is A^T @ g.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor
from .convert import pattern_grad
from .storage import COO, CSR
from .tensor import SparseTensor


def matrix(s, transpose: bool = False):
    """`s` (2-D COO or CSR storage) as a scipy / cupyx sparse matrix sharing its arrays."""
    xsp = backend.get_xsp(s.values)
    rows, cols = s.shape
    if isinstance(s, CSR):
        m = xsp.csr_matrix((s.values, s.col, s.crow), shape=s.shape, copy=False)
        return m.T if transpose else m
    r, c = s.indices[0], s.indices[1]
    if transpose:
        r, c, rows, cols = c, r, cols, rows
    return xsp.coo_matrix((s.values, (r, c)), shape=(rows, cols), copy=False)


def _check(s, b, name: str) -> None:
    if s.ndim != 2 or (isinstance(s, COO) and s.sparse_dim != 2):
        raise RuntimeError(f"{name}: expected a 2-D sparse matrix without dense dims, got size "
                           f"{list(s.shape)}")
    if isinstance(b, (COO, CSR)):
        raise RuntimeError(f"{name}: sparse @ sparse is not supported; make one side dense")
    if b.ndim not in (1, 2) or b.shape[0] != s.shape[1]:
        raise RuntimeError(f"{name}: mat1 and mat2 shapes cannot be multiplied "
                           f"({s.shape[0]}x{s.shape[1]} and "
                           f"{'x'.join(str(d) for d in b.shape)})")
    if b.dtype != s.dtype:
        raise RuntimeError(f"{name}: expected mat1 and mat2 to have the same dtype, but got: "
                           f"{s.dtype} != {b.dtype}")


def _sampled(g, b, s):
    """(g @ b^T) at the entries of `s` only: the gradient of a sparse matrix in s @ b."""
    xp = backend.get_xp(g)
    if isinstance(s, CSR):
        r, c = s.row_indices(), s.col
    else:
        r, c = s.indices[0], s.indices[1]
    if g.ndim == 1:
        return (g[r] * b[c]).astype(s.dtype, copy=False)
    return xp.einsum("ij,ij->i", g[r], b[c]).astype(s.dtype, copy=False)


class SpMM(Op):
    @staticmethod
    def forward(ctx, s, b, pattern_grad):
        ctx.s, ctx.b, ctx.pattern = s, b, pattern_grad
        return backend.get_xp(b).asarray(matrix(s) @ b).astype(b.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        s, b = ctx.s, ctx.b
        gs = gb = None
        if ctx.needs_input_grad[0]:
            if ctx.pattern:
                gs = pattern_grad(s, _sampled(g, b, s))
            else:
                gs = g[:, None] * b[None, :] if g.ndim == 1 else g @ b.T
        if ctx.needs_input_grad[1]:
            gb = backend.get_xp(g).asarray(matrix(s, transpose=True) @ g).astype(
                b.dtype, copy=False)
        return gs, gb, None


def _spmm(a: SparseTensor, b: Tensor, pattern_grad: bool, name: str) -> Tensor:
    if not isinstance(b, Tensor):
        raise TypeError(f"{name}: expected a Tensor as the second argument, got "
                        f"{type(b).__name__}")
    _check(a._data, b._data, name)
    return SpMM.apply(a, b, pattern_grad)


def mm(a: Tensor, b: Tensor) -> Tensor:
    """`torch.mm` / `@` with a sparse argument: a dense result, dense gradients (PyTorch's).

    Shape: (n, m) @ (m, p) -> (n, p); a 1-D dense right side gives (n,).
    """
    a_sp, b_sp = isinstance(a, SparseTensor), isinstance(b, SparseTensor)
    if a_sp and b_sp:
        raise RuntimeError("mm: sparse @ sparse is not supported; make one side dense")
    if a_sp:
        return _spmm(a, b, False, "mm")
    # dense @ sparse = (sparse^T @ dense^T)^T
    return _spmm(b.t(), a.t(), False, "mm").t()


def sparse_mm(a: Tensor, b: Tensor) -> Tensor:
    """`torch.sparse.mm`: sparse @ dense with the gradient of the sparse matrix restricted to its
    pattern (a sparse gradient). Shape: (n, m) @ (m, p) -> (n, p)."""
    if isinstance(a, SparseTensor) and not isinstance(b, SparseTensor):
        return _spmm(a, b, True, "sparse.mm")
    if not isinstance(a, SparseTensor) and isinstance(b, SparseTensor):
        return _spmm(b.t(), a.t(), True, "sparse.mm").t()
    raise RuntimeError("sparse.mm: expected one sparse and one dense matrix")


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0,
          alpha: Any = 1.0) -> Tensor:
    """`torch.sparse.addmm`: beta * mat + alpha * (mat1 @ mat2), mat1 sparse (its gradient
    restricted to its pattern). Shape: mat (n, p), mat1 (n, m), mat2 (m, p) -> (n, p)."""
    if not isinstance(mat1, SparseTensor):
        raise RuntimeError("sparse.addmm: expected mat1 to be a sparse tensor")
    prod = _spmm(mat1, mat2, True, "sparse.addmm")
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return (mat * beta if beta != 1 else mat) + prod
