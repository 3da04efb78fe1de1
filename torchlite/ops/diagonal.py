"""Diagonals and triangles of matrices: diagonal (a view), diag, tril, triu.

Shapes: diagonal(x, offset, dim1, dim2) drops dim1 and dim2 and appends the diagonal as the last
dim; diag takes a vector (N,) to a (N+|k|, N+|k|) matrix, or a matrix to its k-th diagonal;
tril/triu keep (*, M, N) and zero the other triangle of the last two dims.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..autograd.views import view_of
from ..backend import get_xp
from ..tensor import Tensor
from .dims import wrap_dim
from .out import with_out


def diag_view(a, offset: int, d1: int, d2: int):
    """The `offset` diagonal of array `a` over dims d1, d2 as a strided view, appended last.

    Unlike NumPy's read-only `diagonal`, the view is writable when `a` is: in-place ops on a
    diagonal reach the matrix (and a gradient is placed on a diagonal by writing into zeros).
    """
    xp = get_xp(a)
    n1, n2 = a.shape[d1], a.shape[d2]
    start = [slice(None)] * a.ndim
    if offset >= 0:
        length = max(min(n1, n2 - offset), 0)
        start[d2] = slice(min(offset, n2), None)
    else:
        length = max(min(n1 + offset, n2), 0)
        start[d1] = slice(min(-offset, n1), None)
    b = xp.moveaxis(a[tuple(start)], (d1, d2), (-2, -1))
    strides = b.strides[:-2] + (b.strides[-2] + b.strides[-1],)
    return xp.lib.stride_tricks.as_strided(b, b.shape[:-2] + (length,), strides)


class Diagonal(Op):
    @staticmethod
    def forward(ctx, x, offset, d1, d2, copy):
        ctx.shape, ctx.args = x.shape, (offset, d1, d2)
        v = diag_view(x, offset, d1, d2)
        return v.copy() if copy else v

    @staticmethod
    def backward(ctx, g):
        out = get_xp(g).zeros(ctx.shape, dtype=g.dtype)
        diag_view(out, *ctx.args)[...] = g
        return out, None, None, None, None

    @staticmethod
    def graph_backward(ctx, g):
        """g written onto the diagonal by an index (a graph of the backward pass cannot be
        recorded through the strided view): the dims d1, d2 go last, then back."""
        xp = get_xp(g)
        offset, d1, d2 = ctx.args
        shape = ctx.shape
        rest = tuple(s for i, s in enumerate(shape) if i not in (d1, d2))
        out = xp.zeros(rest + (shape[d1], shape[d2]), dtype=g.dtype)
        out[(Ellipsis,) + _diag_index(xp, shape[d1], shape[d2], offset)] = g
        return xp.moveaxis(out, (-2, -1), (d1, d2)), None, None, None, None


def _diag_index(xp, n1: int, n2: int, offset: int):
    """(rows, cols) of the `offset` diagonal of an n1 x n2 matrix, as arrays of `xp`."""
    i = xp.arange(max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0))
    return (i, i + offset) if offset >= 0 else (i - offset, i)


class DiagEmbed(Op):
    """A vector onto the `offset` diagonal of a square matrix of zeros."""

    @staticmethod
    def forward(ctx, v, offset):
        n = v.shape[0] + abs(offset)
        out = get_xp(v).zeros((n, n), dtype=v.dtype)
        diag_view(out, offset, 0, 1)[...] = v
        ctx.offset = offset
        return out

    @staticmethod
    def backward(ctx, g):
        return diag_view(g, ctx.offset, 0, 1).copy(), None

    @staticmethod
    def graph_backward(ctx, g):
        """The diagonal read by an index, which a graph of the backward pass can record."""
        return g[_diag_index(get_xp(g), g.shape[0], g.shape[1], ctx.offset)], None


def _int(v, name: str, op: str) -> int:
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The `offset` diagonal (above the main one for offset > 0) over dims dim1 and dim2.

    A view, as in PyTorch: writing into it writes into `input`.
    Shape: input (*); output: input's shape without dim1 and dim2, plus the diagonal's length.
    """
    n = input._data.ndim
    if n < 2:
        raise RuntimeError(f"diagonal(): expected a tensor with at least 2 dimensions, got {n}D")
    d1, d2 = wrap_dim(dim1, n, "diagonal"), wrap_dim(dim2, n, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = _int(offset, "offset", "diagonal")
    out = Diagonal.apply(input, offset, d1, d2, False)
    return view_of(out, input, Diagonal, offset, d1, d2, False)


def diag(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """A vector (N,) -> the (N+|k|, N+|k|) matrix with it on diagonal k; a matrix -> its k-th
    diagonal (a copy). k > 0 is above the main diagonal."""
    if out is not None:
        return with_out(diag, "diag", out, (input, diagonal), exact=True)
    k = _int(diagonal, "diagonal", "diag")
    n = input._data.ndim
    if n == 1:
        return DiagEmbed.apply(input, k)
    if n == 2:
        return Diagonal.apply(input, k, 0, 1, True)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")


class Triangle(Op):
    @staticmethod
    def forward(ctx, x, k, lower):
        xp = get_xp(x)
        rows, cols = x.shape[-2:]
        keep = xp.tri(rows, cols, k, dtype=bool)  # j <= i + k
        if not lower:
            keep = ~xp.tri(rows, cols, k - 1, dtype=bool)  # j >= i + k
        ctx.keep = keep
        return xp.where(keep, x, xp.zeros((), dtype=x.dtype))

    @staticmethod
    def backward(ctx, g):
        return get_xp(g).where(ctx.keep, g, g.dtype.type(0)), None, None


def _triangle(input: Tensor, k, lower: bool, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    return Triangle.apply(input, _int(k, "diagonal", op), lower)


def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The lower triangle of the last two dims (j <= i + diagonal), zeros elsewhere.

    Shape: (*, M, N) -> (*, M, N).
    """
    if out is not None:
        return with_out(tril, "tril", out, (input, diagonal), exact=True)
    return _triangle(input, diagonal, True, "tril")


def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The upper triangle of the last two dims (j >= i + diagonal), zeros elsewhere: a causal
    attention mask is `triu(ones(T, T), 1)`. Shape: (*, M, N) -> (*, M, N)."""
    if out is not None:
        return with_out(triu, "triu", out, (input, diagonal), exact=True)
    return _triangle(input, diagonal, False, "triu")
