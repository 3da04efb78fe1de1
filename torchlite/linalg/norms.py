"""Vector and matrix norms (torch.linalg.vector_norm, matrix_norm, norm) and cond, composed of
differentiable ops: abs, sums, amax/amin, the 2-norm op (subgradient 0 at the origin, as
PyTorch) and singular values."""

from __future__ import annotations

import math

from ..ops import reduction as _r
from ..ops.dims import wrap_dim
from ..ops.unary import abs as _abs
from ..tensor import Tensor
from ._checks import check_matrix

_INF = math.inf


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """The ord-norm of x's elements over `dim` (all of them by default): sum(|x|^ord)^(1/ord),
    max |x| for inf, min |x| for -inf, the count of nonzeros for 0."""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a numeric ord, got {ord!r}")
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vector_norm: expected a Tensor, got {type(x).__name__}")
    if not x.is_floating_point() and dtype is None:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x.dtype}")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None  # (): every dim, as PyTorch's vector_norm
    reduced = range(x.ndim) if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)
    empty_reduction = x.ndim > 0 and any(x.shape[d] == 0 for d in reduced)
    if empty_reduction and (ord < 0 or ord == _INF):
        raise RuntimeError("linalg.vector_norm cannot compute the "
                           f"{ord} norm on an empty tensor because the operation does not "
                           "have an identity")
    result = _r.norm(x, float(ord), dim, keepdim, dtype)
    return _out(result, out, "linalg.vector_norm")


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """'fro' (the default), 'nuc' (sum of singular values), 2 / -2 (largest / smallest
    singular value), 1 / -1 (max / min column sum of |A|), inf / -inf (max / min row sum)."""
    if dtype is not None:
        A = A.to(dtype)
    check_matrix(A, "linalg.matrix_norm", square=False)
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (wrap_dim(d, A.ndim, "linalg.matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if ord == "fro":
        result = _r.norm(A, 2, (d0, d1), keepdim)
    elif A.shape[d0] == 0 or A.shape[d1] == 0:  # an empty matrix: 0, as PyTorch
        if ord not in ("nuc", 2, -2, 1, -1, _INF, -_INF):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
        result = A.abs().sum((d0, d1), keepdim=keepdim)
    elif ord in ("nuc", 2, -2):
        from . import svdvals

        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        if ord == "nuc":
            result = s.sum(-1)
        else:
            result = s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            for d in sorted((d0, d1)):
                result = result.unsqueeze(d)
    elif ord in (1, -1, _INF, -_INF):
        summed, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = _abs(A).sum(summed, keepdim=True)
        result = sums.amax(other, keepdim=True) if ord > 0 else sums.amin(other, keepdim=True)
        if not keepdim:
            result = result.squeeze((d0, d1))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return _out(result, out, "linalg.matrix_norm")


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None,
         out=None) -> Tensor:
    """A vector norm (dim an int, or A 1-D) or a matrix norm (dim a 2-tuple, or A 2-D) as
    PyTorch chooses; with ord and dim both None, the 2-norm of all elements."""
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype, out=out)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype, out=out)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input "
                               f"must be 1D or 2D. Got {A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype, out=out)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: ord {ord!r} needs a matrix (a 2-tuple dim)")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype, out=out)


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """The condition number: largest over smallest singular value for p None or 2 (inverse for
    -2), else matrix_norm(A, p) * matrix_norm(inv(A), p)."""
    from . import svdvals

    if p in (None, 2, -2):
        check_matrix(A, "linalg.cond", square=False)
        s = svdvals(A)
        big, small = s.amax(-1), s.amin(-1)
        result = big / small if p in (None, 2) else small / big
    else:
        check_matrix(A, "linalg.cond")
        from .derived import inv_ex

        inverse, info = inv_ex(A)
        failed = bool(info.any())
        if failed:  # a singular matrix (NaN inverse): infinitely ill-conditioned, as PyTorch
            import torchlite

            bad = (info != 0).unsqueeze(-1).unsqueeze(-1)
            inverse = torchlite.where(bad, torchlite.zeros_like(inverse), inverse)
        result = matrix_norm(A, p) * matrix_norm(inverse, p)
        if failed:
            result = torchlite.where(info != 0, torchlite.full_like(result, math.inf), result)
    return _out(result, out, "linalg.cond")


def _out(result, out, name):
    from . import _out as write

    return write(result, out, name)
