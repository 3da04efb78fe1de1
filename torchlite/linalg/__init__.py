"""`torch.linalg`: inverses, determinants, linear systems, decompositions and norms.

Real float32 and float64 matrices, batched over leading dims, on NumPy's or CuPy's LAPACK.
Every function is differentiable (see ops/decompositions.py for the formulas); as in PyTorch,
gradients through eigenvectors and singular vectors need distinct eigen- and singular values.
Complex matrices (and so eig/eigvals of non-symmetric matrices) are not supported.
"""

from __future__ import annotations

import numpy as np

from .. import return_types
from ..ops import decompositions as _d
from ..ops.decompositions import LinAlgError
from ..ops.diagonal import diagonal as _diagonal
from ..ops.linalg import matmul
from ..ops.products import cross as _cross
from ..ops.shape import unsqueeze
from ..tensor import Tensor
from ._checks import check_matrix
from .derived import (
    cholesky_ex,
    inv_ex,
    lstsq,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    solve_ex,
    solve_triangular,
    vecdot,
)
from .norms import cond, matrix_norm, norm, vector_norm

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
           "solve_triangular", "svd", "svdvals", "vecdot", "vector_norm"]


def inv(A: Tensor, *, out=None) -> Tensor:
    """The inverse of each square matrix in A; LinAlgError if one is singular."""
    check_matrix(A, "linalg.inv")
    return _out(_d.Inv.apply(A), out, "linalg.inv")


def det(A: Tensor, *, out=None) -> Tensor:
    """The determinant of each square matrix; differentiable at singular matrices too."""
    check_matrix(A, "linalg.det")
    return _out(_d.Det.apply(A), out, "linalg.det")


def slogdet(A: Tensor, *, out=None):
    """(sign, logabsdet): det = sign * exp(logabsdet), without overflow; sign 0 and logabsdet
    -inf for a singular matrix."""
    check_matrix(A, "linalg.slogdet")
    sign, logabs = _d.Slogdet.apply(A)
    if out is not None:
        _out(sign, out[0], "linalg.slogdet")
        _out(logabs, out[1], "linalg.slogdet")
        return return_types.linalg_slogdet(*out)
    return return_types.linalg_slogdet(sign, logabs)


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """X with A X = B (or X A = B when left=False). B is a batch of vectors when it is 1-D or
    has one dim fewer than A with A's leading shape, as in PyTorch; batch dims broadcast."""
    check_matrix(A, "linalg.solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve: expected B to be a Tensor, got {type(B).__name__}")
    if B.ndim == 0 or (not left and B.ndim < 2):
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    if B.dtype != A.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {A.dtype} and B of type {B.dtype} instead")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _out(solve(A.mT, B.mT).mT, out, "linalg.solve")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    b = unsqueeze(B, -1) if vector else B
    if b.ndim < 2 or b.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({A.shape[-2]}x{n} and {b.shape[-2] if b.ndim > 1 else 1}"
                           f"x{b.shape[-1]})")
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dims of A {tuple(A.shape[:-2])} and B "
                           f"{tuple(b.shape[:-2])} cannot be broadcast") from None
    a = A.expand(*batch, n, n) if tuple(A.shape[:-2]) != batch else A
    b = b.expand(*batch, *b.shape[-2:]) if tuple(b.shape[:-2]) != batch else b
    x = _d.Solve.apply(a, b)
    return _out(x.squeeze(-1) if vector else x, out, "linalg.solve")


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """L lower-triangular with A = L L^T (or U upper-triangular with A = U^T U when upper),
    for symmetric positive-definite A; LinAlgError otherwise. Reads A's lower triangle (its
    upper one when upper=True)."""
    check_matrix(A, "linalg.cholesky")
    if upper:  # from A's upper triangle: U = chol(A^T)^T, whose U^T U is that triangle's A
        return _out(_d.Cholesky.apply(A.mT).mT, out, "linalg.cholesky")
    return _out(_d.Cholesky.apply(A), out, "linalg.cholesky")


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """(Q, R) with A = Q R: mode 'reduced' (Q m x k, R k x n, k = min(m, n)), 'complete'
    (Q m x m, R m x n) or 'r' (R only, Q empty). As in PyTorch, complete mode on a tall A
    has no gradient."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    check_matrix(A, "linalg.qr", square=False)
    m, n = A.shape[-2], A.shape[-1]
    if mode == "complete" and m > n:
        q, r = _d.Qr.apply(A, "complete")  # its backward refuses, as PyTorch's
    elif m >= n:
        q, r = _d.Qr.apply(A, "reduced")
    else:  # wide (both modes agree): A = [X | Y], X = Q R1 square, R = [R1 | Q^T Y]
        from ..ops.join import cat

        x, y = A[..., :m], A[..., m:]
        q, r1 = _d.Qr.apply(x, "reduced")
        r = cat([r1, matmul(q.mT, y)], -1)
    if mode == "r":  # R alone (differentiable here, where PyTorch refuses), and an empty Q
        q = A.new_empty((0,))
    if out is not None:
        _out(q, out[0], "linalg.qr")
        _out(r, out[1], "linalg.qr")
        q, r = out
    return return_types.linalg_qr(q, r)


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix, read from
    its lower (UPLO='L') or upper triangle."""
    _check_uplo(UPLO, "linalg.eigh")
    check_matrix(A, "linalg.eigh")
    w, v = _d.Eigh.apply(A, UPLO.upper())
    if out is not None:
        _out(w, out[0], "linalg.eigh")
        _out(v, out[1], "linalg.eigh")
        w, v = out
    return return_types.linalg_eigh(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """The eigenvalues of each symmetric matrix, ascending."""
    _check_uplo(UPLO, "linalg.eigvalsh")
    check_matrix(A, "linalg.eigvalsh")
    return _out(_d.Eigh.apply(A, UPLO.upper())[0], out, "linalg.eigvalsh")


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending. With full_matrices (the default, as in
    PyTorch) U is m x m and Vh n x n; their extra columns and rows span the rest of the space,
    are arbitrary, and get no gradient."""
    check_matrix(A, "linalg.svd", square=False)
    _check_driver(driver, A, "linalg.svd")
    u, s, vh = _d.Svd.apply(A, bool(full_matrices) and A.shape[-2] != A.shape[-1])
    if out is not None:
        for t, o in zip((u, s, vh), out):
            _out(t, o, "linalg.svd")
        u, s, vh = out
    return return_types.linalg_svd(u, s, vh)


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """The singular values of each matrix, descending."""
    check_matrix(A, "linalg.svdvals", square=False)
    _check_driver(driver, A, "linalg.svdvals")
    return _out(_d.Svd.apply(A, False)[1], out, "linalg.svdvals")


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.diagonal with matrix-batch defaults (the last two dims)."""
    return _diagonal(A, offset, dim1, dim2)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """The 3-D cross product along `dim` (default the last, unlike torch.cross's older
    default), broadcasting the other dims."""
    return _out(_cross(input, other, dim), out, "linalg.cross")


def _check_driver(driver, A: Tensor, op: str) -> None:
    """PyTorch takes a cuSOLVER algorithm only for CUDA inputs; CuPy picks its own, so on the
    GPU a valid name is accepted and changes nothing."""
    if driver is None:
        return
    if A.device.type != "cuda":
        raise RuntimeError(f"torch.{op}: keyword argument `driver=` is only supported on CUDA "
                           "inputs with cuSOLVER backend.")
    if driver not in ("gesvd", "gesvdj", "gesvda"):
        raise RuntimeError(f"torch.{op}: driver must be one of gesvd, gesvdj, gesvda, got "
                           f"{driver!r}")


def _check_uplo(uplo, op: str) -> None:
    if not isinstance(uplo, str) or uplo.upper() not in ("L", "U"):
        raise RuntimeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {uplo}")


def _out(result: Tensor, out, name: str) -> Tensor:
    if out is None:
        return result
    from ..ops.out import _check_out_grad, _write_out

    _check_out_grad(name, (result,), {}, out)
    return _write_out(name, result, out, exact=True)
