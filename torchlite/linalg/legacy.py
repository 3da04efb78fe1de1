"""The matrix functions at torch's top level and on Tensor (torch.det, torch.inverse,
torch.svd, Tensor.cholesky, ...): the older names and signatures, on torch.linalg's ops."""

from __future__ import annotations

from .. import linalg, return_types
from ..tensor import Tensor


def det(input: Tensor) -> Tensor:
    return linalg.det(input)


def logdet(input: Tensor) -> Tensor:
    """log(det): NaN where the determinant is negative, -inf where it is 0."""
    sign, logabs = linalg.slogdet(input)
    return logabs.where(sign >= 0, float("nan"))


def slogdet(input: Tensor, *, out=None):
    sign, logabs = linalg.slogdet(input, out=out)
    return return_types.slogdet(sign, logabs)


def inverse(input: Tensor, *, out=None) -> Tensor:
    return linalg.inv(input, out=out)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    return linalg.pinv(input, rtol=rcond)


def matrix_power(input: Tensor, n: int, *, out=None) -> Tensor:
    return linalg.matrix_power(input, n, out=out)


def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    return linalg.cholesky(input, upper=upper, out=out)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """X with A X = B for A = L L^T (or U^T U with upper=True), from the Cholesky factor."""
    low = L.mT if upper else L
    y = linalg.solve_triangular(low, B, upper=False)
    return linalg.solve_triangular(low.mT, y, upper=True, out=out)


def cholesky_inverse(L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """The inverse of A = L L^T (or U^T U with upper=True) from its Cholesky factor."""
    from ..ops.creation import eye
    from ._checks import check_matrix

    check_matrix(L, "cholesky_inverse")

    ident = eye(L.shape[-1], dtype=L.dtype, device=L.device).expand(*L.shape)
    return cholesky_solve(ident, L, upper, out=out)


def qr(input: Tensor, some: bool = True, *, out=None):
    q, r = linalg.qr(input, "reduced" if some else "complete", out=out)
    return return_types.qr(q, r)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """(U, S, V) with input = U diag(S) V^T: V, not Vh as torch.linalg.svd returns. Without
    compute_uv, U and V are zero-filled (m, m) and (n, n) matrices, as PyTorch's."""
    if compute_uv:
        u, s, vh = linalg.svd(input, full_matrices=not some)
        v = vh.mT
    else:
        s = linalg.svdvals(input)
        m, n = input.shape[-2], input.shape[-1]
        batch = tuple(input.shape[:-2])
        u, v = input.new_zeros(batch + (m, m)), input.new_zeros(batch + (n, n))
    if out is not None:
        for t, o in zip((u, s, v), out):
            linalg._out(t, o, "svd")
        return return_types.svd(*out)
    return return_types.svd(u, s, v)


NAMES = ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "cholesky",
         "cholesky_solve", "cholesky_inverse", "qr", "svd")
