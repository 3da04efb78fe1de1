"""torch.linalg functions built from the decompositions and products, so their gradients are
those of the ops they are made of: pinv, matrix_rank, matrix_power, multi_dot, lstsq,
solve_triangular, vecdot, and the *_ex variants that report failures in an `info` tensor."""

from __future__ import annotations

import numpy as np

from .. import return_types
from ..backend import get_xp
from ..ops import decompositions as _d
from ..ops.decompositions import LinAlgError
from ..tensor import Tensor
from ._checks import check_matrix


def _tolerances(A: Tensor, atol, rtol):
    """PyTorch's rule as raw values broadcastable against the singular values (..., k): atol
    defaults to 0; rtol to eps * max(m, n) when atol is not given or is 0 (elementwise for a
    tensor atol), and to 0 otherwise."""
    xp = get_xp(A._data)
    m, n = A.shape[-2], A.shape[-1]
    default = float(np.finfo(A._data.dtype).eps) * max(m, n)

    def raw(v):
        if isinstance(v, Tensor):
            return xp.expand_dims(v.detach()._data.astype(A._data.dtype), -1)
        return float(v)

    a = 0.0 if atol is None else raw(atol)
    if rtol is not None:
        r = raw(rtol)
    elif atol is None:
        r = default
    else:
        r = xp.where(xp.asarray(a) > 0, 0.0, default) if isinstance(a, xp.ndarray) else \
            (0.0 if a > 0 else default)
    return a, r


def pinv(A: Tensor, rcond=None, hermitian: bool = False, *, atol=None, rtol=None,
         out=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse: singular values at or below max(atol, rtol * largest)
    count as zero. Its gradient is the pseudo-inverse's own (finite at repeated singular
    values). hermitian=True only declares A symmetric; the result is the same."""
    from . import _out

    check_matrix(A, "linalg.pinv", square=hermitian)
    if rcond is not None:  # the older form: rcond is rtol
        if rtol is not None:
            raise RuntimeError("linalg.pinv: give rcond or rtol, not both")
        rtol = rcond
    a, r = _tolerances(A, atol, rtol)
    return _out(_d.Pinv.apply(A, r, a), out, "linalg.pinv")


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None,
                out=None) -> Tensor:
    """The number of singular values above max(atol, rtol * largest) (int64)."""
    from . import _out, eigvalsh, svdvals

    check_matrix(A, "linalg.matrix_rank", square=hermitian)
    if tol is not None:  # the older form: tol is an absolute tolerance
        if atol is not None or rtol is not None:
            raise RuntimeError("linalg.matrix_rank: give tol, or atol and rtol, not both")
        atol, rtol = tol, 0.0
    from ..autograd.grad_mode import no_grad

    with no_grad():
        s = eigvalsh(A).abs() if hermitian else svdvals(A)
        a, r = _tolerances(A, atol, rtol)
        xp = get_xp(s._data)
        data = s._data
        big = data.max(axis=-1, keepdims=True) if data.shape[-1] else xp.zeros(
            data.shape[:-1] + (1,), data.dtype)
        keep = data > xp.maximum(a, r * big)
        rank = Tensor._make(keep.sum(axis=-1).astype(np.int64), A._device)
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
        rank = matrix_rank(A.detach(), rtol=rcond)
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
    if A.dtype != B.dtype:  # PyTorch promotes (float32 with float64 is float64)
        from ..ops.promotion import result_dtype

        dt = result_dtype(A, B)
        A, B = A.to(dt), B.to(dt)
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


def _per_matrix(fn, A: Tensor, *rest):
    """fn over each matrix of A's batch (with the matching items of `rest`): the results
    stacked, NaN where fn raised LinAlgError, and int32 info (0, or 1 where it failed).
    LAPACK's info is the failing pivot or minor; NumPy does not report it, so 1 stands in."""
    import torchlite

    batch = tuple(A.shape[:-2])
    flat = A.reshape(-1, *A.shape[-2:])
    others = [r.expand(*batch, *r.shape[-2:]).reshape(-1, *r.shape[-2:]) for r in rest]
    results, info = [], []
    for i in range(flat.shape[0]):
        try:
            results.append(fn(flat[i], *(o[i] for o in others)))
            info.append(0)
        except LinAlgError:
            results.append(None)
            info.append(1)
    like = next((r for r in results if r is not None), None)
    if like is None:
        like = fn(torchlite.eye(A.shape[-1], dtype=A.dtype, device=A.device),
                  *(o[0] for o in others)).detach()
    filled = [r if r is not None else like.detach() * float("nan") for r in results]
    stacked = torchlite.stack(filled).reshape(*batch, *like.shape) if filled else \
        like.new_empty((*batch, *like.shape))
    codes = torchlite.tensor(info, dtype=torchlite.int32, device=A.device).reshape(batch)
    return stacked, codes


def _ex(fn, name: str, cls, check_errors: bool, out, A: Tensor, *rest):
    from . import _out

    try:
        result = fn(A, *rest)
        from ..ops.creation import zeros

        info = zeros(tuple(A.shape[:-2]), dtype=_int32(), device=A.device)
    except LinAlgError:
        if check_errors:
            raise
        result, info = _per_matrix(fn, A, *rest)
    if out is not None:
        _out(result, out[0], name)
        _out(info, out[1], name)
        return cls(*out)
    return cls(result, info)


def _int32():
    from ..backend import int32

    return int32


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    """(inverse, info): info 0 where a matrix's inverse exists. Without check_errors a singular
    matrix of the batch gets info 1 and a NaN inverse, and the others their inverses."""
    from . import inv

    check_matrix(A, "linalg.inv_ex")
    return _ex(inv, "linalg.inv_ex", return_types.linalg_inv_ex, check_errors, out, A)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """(L, info), as inv_ex for the Cholesky factor."""
    from . import cholesky

    check_matrix(A, "linalg.cholesky_ex")
    return _ex(lambda a: cholesky(a, upper=upper), "linalg.cholesky_ex",
               return_types.linalg_cholesky_ex, check_errors, out, A)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None):
    """(result, info), as inv_ex for linalg.solve."""
    from . import solve

    check_matrix(A, "linalg.solve_ex")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    b = B.unsqueeze(-1) if vector else B
    cls = return_types.linalg_solve_ex
    result, info = _ex(lambda a, x: solve(a, x, left=left), "linalg.solve_ex", cls,
                       check_errors, None, A, b)
    if vector:
        result = result.squeeze(-1)
    if out is not None:
        from . import _out

        _out(result, out[0], "linalg.solve_ex")
        _out(info, out[1], "linalg.solve_ex")
        return cls(*out)
    return cls(result, info)


