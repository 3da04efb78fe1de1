"""torch.linalg functions built from the decompositions and products, so their gradients are
those of the ops they are made of: pinv, matrix_rank, matrix_power, multi_dot, lstsq,
solve_triangular, vecdot, and the *_ex variants that report failures in an `info` tensor."""

from __future__ import annotations

import numpy as np

from .. import return_types
from ..ops.decompositions import LinAlgError
from ..tensor import Tensor
from ._checks import check_matrix


def _tolerance(s: Tensor, m: int, n: int, atol, rtol):
    """max(atol, rtol * largest singular value), PyTorch's defaults: atol 0 and rtol
    eps * max(m, n) when neither is given (rtol 0 when only atol is)."""
    from ..ops.ternary import clamp

    eps = float(np.finfo(s._data.dtype).eps)
    if rtol is None:
        rtol = eps * max(m, n) if atol is None or _is_zero(atol) else 0.0
    big = s.amax(-1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
    tol = big.detach() * rtol
    if atol is not None:
        tol = clamp(tol, min=atol) if not isinstance(atol, Tensor) else \
            tol.maximum(atol.unsqueeze(-1) if atol.ndim else atol)
    return tol


def _is_zero(v) -> bool:
    return not isinstance(v, Tensor) and v == 0


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse through the SVD: singular values at or below
    max(atol, rtol * largest) count as zero."""
    from . import _out, eigh, svd

    check_matrix(A, "linalg.pinv", square=hermitian)
    m, n = A.shape[-2], A.shape[-1]
    if hermitian:
        w, v = eigh(A)
        keep = w.abs() > _tolerance(w.abs(), m, n, atol, rtol)
        w_inv = (1 / w.where(keep, 1.0)).where(keep, 0.0)
        return _out((v * w_inv.unsqueeze(-2)) @ v.mT, out, "linalg.pinv")
    u, s, vh = svd(A, full_matrices=False)
    keep = s > _tolerance(s, m, n, atol, rtol)
    s_inv = (1 / s.where(keep, 1.0)).where(keep, 0.0)
    return _out((vh.mT * s_inv.unsqueeze(-2)) @ u.mT, out, "linalg.pinv")


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False,
                out=None) -> Tensor:
    """The number of singular values above max(atol, rtol * largest) (int64)."""
    from . import _out, eigvalsh, svdvals

    check_matrix(A, "linalg.matrix_rank", square=hermitian)
    from ..autograd.grad_mode import no_grad

    with no_grad():
        s = eigvalsh(A).abs() if hermitian else svdvals(A)
        tol = _tolerance(s, A.shape[-2], A.shape[-1], atol, rtol)
        rank = (s > tol).sum(-1)
    return _out(rank, out, "linalg.matrix_rank")


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """A^n by repeated squaring; n = 0 gives the identity, n < 0 powers of the inverse."""
    from . import _out, inv

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: expected an integer exponent, got {type(n).__name__}")
    if not isinstance(A, Tensor) or A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        shape = tuple(A.shape) if isinstance(A, Tensor) else type(A).__name__
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, got "
                           f"{shape}")
    if n == 0:
        from ..ops.creation import eye

        ident = eye(A.shape[-1], dtype=A.dtype, device=A.device)
        return _out(ident.expand(*A.shape).clone(), out, "linalg.matrix_power")
    base = inv(A) if n < 0 else A
    n = abs(int(n))
    result = None
    while True:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if not n:
            break
        base = base @ base
    return _out(result, out, "linalg.matrix_power")


def multi_dot(tensors, *, out=None) -> Tensor:
    """The product of a chain of matrices; the first may be a row vector and the last a
    column vector (1-D), which leave their dim out of the result."""
    from . import _out

    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    chain = list(tensors)
    if first_vec:
        chain[0] = chain[0].unsqueeze(0)
    if last_vec:
        chain[-1] = chain[-1].unsqueeze(-1)
    for i, t in enumerate(chain):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    result = chain[0]
    for t in chain[1:]:
        result = result @ t
    if first_vec:
        result = result.squeeze(0)
    if last_vec:
        result = result.squeeze(-1)
    return _out(result, out, "linalg.multi_dot")


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """The least-squares solution of A X = B through the pseudo-inverse (rcond as pinv's
    rtol). As PyTorch's CPU default driver 'gelsy': rank is returned, residuals and
    singular_values are empty; with driver 'gelsd' or 'gelss' both are filled in (residuals
    when m > n and A has full rank)."""
    check_matrix(A, "linalg.lstsq", square=False)
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                           f"gelsy, gelsd, gelss), got {driver}")
    vector = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2), "
                           f"got {A.shape[-2]} and {b.shape[-2]}")
    from . import svdvals

    x = pinv(A, rtol=rcond) @ b
    m, n = A.shape[-2], A.shape[-1]
    from ..autograd.grad_mode import no_grad

    with no_grad():
        s = svdvals(A.detach())
        rank = (s > _tolerance(s, m, n, None, rcond)).sum(-1)
    empty = A.new_empty((0,))
    residuals, values = empty, empty
    if driver in ("gelsd", "gelss"):
        values = s
    if driver in ("gels", "gelsd", "gelss") and m > n and bool((rank == n).all()):
        r = A @ x - b
        residuals = (r * r).sum(-2)
    if vector:
        x = x.squeeze(-1)
    if driver == "gels":
        rank = empty.long()
    return return_types.linalg_lstsq(x, residuals, rank, values)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False, out=None) -> Tensor:
    """X with A X = B (X A = B when left=False) reading only A's upper or lower triangle (and
    taking its diagonal as ones when unitriangular)."""
    from . import _out, solve

    check_matrix(A, "linalg.solve_triangular")
    if not isinstance(B, Tensor) or B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 "
                           "dimensions.")
    tri = A.triu() if upper else A.tril()
    if unitriangular:
        from ..ops.creation import eye

        tri = (A.triu(1) if upper else A.tril(-1)) + eye(A.shape[-1], dtype=A.dtype,
                                                          device=A.device)
    return _out(solve(tri, B, left=left), out, "linalg.solve_triangular")


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """The dot product of x and y along `dim`, broadcasting the rest (real: no conjugate)."""
    from . import _out

    return _out((x * y).sum(dim), out, "linalg.vecdot")


def _info(A: Tensor, failed: bool):
    from ..ops.creation import full

    return full(tuple(A.shape[:-2]), 1 if failed else 0, dtype=_int32(), device=A.device)


def _int32():
    from ..backend import int32

    return int32


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    """(inverse, info): info 0 where the inverse exists. Without check_errors a singular input
    gives info 1 and NaN inverses instead of raising (one flag for the batch)."""
    from . import inv

    try:
        return return_types.linalg_inv_ex(inv(A, out=out), _info(A, False))
    except LinAlgError:
        if check_errors:
            raise
        return return_types.linalg_inv_ex(_nan_like(A), _info(A, True))


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """(L, info), as inv_ex for the Cholesky factor."""
    from . import cholesky

    try:
        return return_types.linalg_cholesky_ex(cholesky(A, upper=upper, out=out),
                                               _info(A, False))
    except LinAlgError:
        if check_errors:
            raise
        return return_types.linalg_cholesky_ex(_nan_like(A), _info(A, True))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None):
    """(result, info), as inv_ex for linalg.solve."""
    from . import solve

    try:
        return return_types.linalg_solve_ex(solve(A, B, left=left, out=out), _info(A, False))
    except LinAlgError:
        if check_errors:
            raise
        x = solve(A.new_zeros(A.shape) + _eye_like(A), B, left=left)
        return return_types.linalg_solve_ex(x * float("nan"), _info(A, True))


def _eye_like(A: Tensor) -> Tensor:
    from ..ops.creation import eye

    return eye(A.shape[-1], dtype=A.dtype, device=A.device)


def _nan_like(A: Tensor) -> Tensor:
    return A.detach().new_full(tuple(A.shape), float("nan"))
