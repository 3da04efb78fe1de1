"""Products built on matmul and broadcasting: tensordot, kron, cross, vdot, trace, and the
affine forms baddbmm, addbmm, addmv, addr (beta * input + alpha * product).

Each is composed of differentiable ops, so gradients (and higher ones) come from theirs.
"""

from __future__ import annotations

from ..tensor import Tensor
from .diagonal import diagonal
from .dims import wrap_dim
from .elementwise import add, mul, sub
from .linalg import bmm, matmul, mv, outer
from .reduction import sum as _sum
from .shape import permute, reshape


def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Sum over the last `dims` dims of a and the first `dims` of b, or over the paired dims
    ([a dims], [b dims]); the rest of a's dims then the rest of b's.
    """
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [wrap_dim(d, a.ndim, "tensordot") for d in da]
    db = [wrap_dim(d, b.ndim, "tensordot") for d in db]
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise RuntimeError(f"contracted dimensions need to match, but first has sizes "
                           f"{[a.shape[i] for i in da]} and second has sizes "
                           f"{[b.shape[j] for j in db]}")
    ra = [i for i in range(a.ndim) if i not in da]
    rb = [j for j in range(b.ndim) if j not in db]
    k = 1
    for i in da:
        k *= a.shape[i]
    left = reshape(permute(a, ra + da), (-1, k))
    right = reshape(permute(b, db + rb), (k, -1))
    return reshape(matmul(left, right), tuple(a.shape[i] for i in ra)
                   + tuple(b.shape[j] for j in rb))


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: blocks input[i] * other. Shape: (a_i) x (b_i) -> (a_i * b_i)."""
    n = max(input.ndim, other.ndim)
    a = reshape(input, (1,) * (n - input.ndim) + tuple(input.shape))
    b = reshape(other, (1,) * (n - other.ndim) + tuple(other.shape))
    # interleave: a's dims at even positions, b's at odd ones, then merge each pair
    a = reshape(a, tuple(s for d in a.shape for s in (d, 1)))
    b = reshape(b, tuple(s for d in b.shape for s in (1, d)))
    return reshape(mul(a, b), tuple(x * y for x, y in zip(a.shape[::2], b.shape[1::2])))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The 3-D cross product along `dim` (by default the first dim of size 3), broadcasting."""
    if dim is None:
        dims = [i for i, s in enumerate(input.shape) if s == 3]
        if not dims:
            raise RuntimeError(f"no dimension of size 3 in input of shape {tuple(input.shape)}")
        dim = dims[0]
    d = wrap_dim(dim, input.ndim, "cross")
    if input.shape[d] != 3 or other.shape[wrap_dim(dim, other.ndim, "cross")] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")

    def part(t, i):
        return t.narrow(wrap_dim(dim, t.ndim, "cross"), i, 1)

    a0, a1, a2 = (part(input, i) for i in range(3))
    b0, b1, b2 = (part(other, i) for i in range(3))
    from .join import cat

    return cat([sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)),
                sub(mul(a0, b1), mul(a1, b0))], d)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors (real dtypes: no conjugation to do)."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D "
                           "tensors")
    return _sum(mul(input, other))


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return _sum(diagonal(input))


def _affine(input, product, beta, alpha):
    scaled = product if alpha == 1 else mul(product, alpha)
    if beta == 0:  # input is ignored, NaN and inf included, as PyTorch
        return scaled
    return add(input if beta == 1 else mul(input, beta), scaled)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2), batch by batch. Shape: (B, n, m)."""
    return _affine(input, bmm(batch1, batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * sum over the batch of batch1[i] @ batch2[i]. Shape: (n, m)."""
    return _affine(input, _sum(bmm(batch1, batch2), 0), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec). Shape: (n,)."""
    return _affine(input, mv(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2). Shape: (n, m)."""
    return _affine(input, outer(vec1, vec2), beta, alpha)
