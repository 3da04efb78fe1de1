"""Matrix products: matmul (1-D to N-D, batched and broadcast), mm, bmm, outer, dot, einsum."""

from __future__ import annotations

import string

import numpy as np

from ..amp import state as _amp
from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from .broadcast import unbroadcast
from .exceptions import BadArgumentError
from .half_compute import FLOAT32, in_float32, is_half_numpy
from .out import with_out


class Matmul(Op):
    @staticmethod
    def forward(ctx, a, b):
        # keep only what backward needs: dA needs B and dB needs A (so an in-place change of an
        # operand that needs no gradient does not invalidate the graph, as in PyTorch)
        n = ctx.needs_input_grad
        ctx.shapes = (a.shape, b.shape)
        ctx.save_for_backward(a if n[1] else None, b if n[0] else None)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
            return get_xp(a).matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        with np.errstate(over="ignore", invalid="ignore"):
            return Matmul._backward(ctx, g)

    @staticmethod
    def _backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        xp = get_xp(g)
        n = ctx.needs_input_grad
        if len(sa) == 2 and len(sb) == 2:  # the common case, without reshapes
            return (g @ b.T if n[0] else None), (a.T @ g if n[1] else None)
        if len(sa) == 1 and len(sb) == 1:  # a dot product: g is 0-d
            return (g * b if n[0] else None), (g * a if n[1] else None)
        g2 = g
        if len(sa) == 1:
            g2 = xp.expand_dims(g2, -2)
        if len(sb) == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if n[0]:
            b2 = b[:, None] if b.ndim == 1 else b
            a2_shape = (1, *sa) if len(sa) == 1 else sa
            ga = unbroadcast(xp.matmul(g2, xp.swapaxes(b2, -1, -2)), a2_shape).reshape(sa)
        if n[1]:
            a2 = a[None, :] if a.ndim == 1 else a
            b2_shape = (*sb, 1) if len(sb) == 1 else sb
            gb = unbroadcast(xp.matmul(xp.swapaxes(a2, -1, -2), g2), b2_shape).reshape(sb)
        return ga, gb


def _check_mm(a: Tensor, b: Tensor, op: str) -> None:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}: expected Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got {a.dtype} and "
            f"{b.dtype}"
        )
    sa, sb = a._data.shape, b._data.shape
    if len(sa) == 0 or len(sb) == 0:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        def fmt(s):
            return "x".join(map(str, s))

        raise RuntimeError(
            f"{op}: shapes cannot be multiplied ({fmt(sa)} and {fmt(sb)}): inner dimensions "
            f"{ka} and {kb} differ"
        )
    if len(sa) > 2 and len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise RuntimeError(
                f"{op}: batch dimensions {sa[:-2]} and {sb[:-2]} cannot be broadcast"
            ) from None


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics for 1-D, 2-D and batched N-D operands."""
    if out is not None:
        return with_out(matmul, "matmul", out, (input, other), exact=True)
    if (type(input) is not Tensor or type(other) is not Tensor) and _sparse(input, other):
        return input.__matmul__(other) if _sparse(input) else other.__rmatmul__(input)
    if _amp.on:
        input, other = _amp.cast("matmul", input, other)
    _check_mm(input, other, "matmul")
    op = Matmul if input._data.dtype is FLOAT32 else _matmul_op(input)
    return op.apply(input, other)


def _sparse(*tensors: Tensor) -> bool:
    """Whether one of `tensors` is a torchlite.sparse tensor (its class handles the product)."""
    return any(getattr(type(t), "_sparse_layout", False) for t in tensors)


def _matmul_op(input: Tensor):
    """Matmul, or its float32-computing variant for NumPy float16/bfloat16 (see half_compute)."""
    return in_float32(Matmul) if is_half_numpy(input._data) else Matmul


def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """2-D matrix product. Shape: (n, m) @ (m, p) -> (n, p)."""
    if out is not None:
        return with_out(mm, "mm", out, (input, mat2), exact=True)
    if (type(input) is not Tensor or type(mat2) is not Tensor) and _sparse(input, mat2):
        return input.mm(mat2) if _sparse(input) else mat2.__rmatmul__(input)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input.ndim}-D and {mat2.ndim}-D")
    if _amp.on:
        input, mat2 = _amp.cast("mm", input, mat2)
    _check_mm(input, mat2, "mm")
    op = Matmul if input._data.dtype is FLOAT32 else _matmul_op(input)
    return op.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Batched product. Shape: (b, n, m) @ (b, m, p) -> (b, n, p)."""
    if out is not None:
        return with_out(bmm, "bmm", out, (input, mat2), exact=True)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {input.ndim}-D and {mat2.ndim}-D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(
            f"bmm: batch sizes differ: {tuple(input.shape)} and {tuple(mat2.shape)}"
        )
    if _amp.on:
        input, mat2 = _amp.cast("bmm", input, mat2)
    _check_mm(input, mat2, "bmm")
    op = Matmul if input._data.dtype is FLOAT32 else _matmul_op(input)
    return op.apply(input, mat2)


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    if out is not None:
        return with_out(mv, "mv", out, (input, vec), exact=True)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a 2-D matrix and a 1-D vector, got {input.ndim}-D and "
                           f"{vec.ndim}-D")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    if out is not None:
        return with_out(dot, "dot", out, (input, other), exact=True)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D")
    return matmul(input, other)


inner = dot


def outer(input: Tensor, vec2: Tensor, *, out=None) -> Tensor:
    """Outer product of two vectors. Shape: (n,), (m,) -> (n, m)."""
    if out is not None:
        return with_out(outer, "outer", out, (input, vec2))
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: 1D tensors expected, got {input.ndim}D and {vec2.ndim}D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    if out is not None:
        return with_out(addmm, "addmm", out,
                        (input, mat1, mat2), {"beta": beta, "alpha": alpha}, exact=True)
    if _amp.on:
        input, mat1, mat2 = _amp.cast("addmm", input, mat1, mat2)
    out = mm(mat1, mat2)
    if alpha != 1:
        out = out * alpha
    return out + (input if beta == 1 else input * beta)


# ----------------------------------------------------------------------------------------------
# einsum


def _parse_einsum(equation: str, shapes):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs, out = eq, None
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise BadArgumentError(
            f"einsum(): {len(subs)} operand subscripts in {equation!r} for {len(shapes)} operands"
        )
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_dims = 0
    for s, shape in zip(subs, shapes):
        if "..." in s:
            ell_dims = max(ell_dims, len(shape) - (len(s) - 3))
    ell = "".join(free[:ell_dims])
    new_subs = []
    for s, shape in zip(subs, shapes):
        if "..." in s:
            n = len(shape) - (len(s) - 3)
            s = s.replace("...", ell[ell_dims - n:] if n else "")
        if len(s) != len(shape):
            raise BadArgumentError(
                f"einsum(): subscript {s!r} has {len(s)} letters for an operand of {len(shape)} "
                "dimensions"
            )
        new_subs.append(s)
    if out is None:
        letters = "".join(new_subs)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                   and c not in ell))
    else:
        out = out.replace("...", ell)
        for c in out:
            if not any(c in s for s in new_subs):
                raise BadArgumentError(f"einsum(): output subscript {c} does not appear in the "
                                       "equation for any input operand")
    return new_subs, out


class Einsum(Op):
    @staticmethod
    def forward(ctx, subs, out, *arrays):
        ctx.subs, ctx.out = subs, out
        ctx.save_for_backward(*arrays)
        xp = get_xp(arrays[0])
        r = xp.asarray(xp.einsum(",".join(subs) + "->" + out, *arrays, optimize=True))
        if len(arrays) == 1 and xp.may_share_memory(r, arrays[0]):
            r = r.copy()  # 'ij->ji' and the like come back as views: the result owns its memory
        return r

    @staticmethod
    def backward(ctx, g):
        arrays = ctx.saved_tensors
        xp = get_xp(g)
        grads = [None, None]
        for i, (s, a) in enumerate(zip(ctx.subs, arrays)):
            if not ctx.needs_input_grad[i + 2]:
                grads.append(None)
                continue
            others = [(ctx.subs[j], arrays[j]) for j in range(len(arrays)) if j != i]
            present = set(ctx.out).union(*[set(o[0]) for o in others]) if others else set(ctx.out)
            target = "".join(dict.fromkeys(c for c in s if c in present))
            eq = ",".join([ctx.out] + [o[0] for o in others]) + "->" + target
            r = xp.einsum(eq, g, *[o[1] for o in others], optimize=True)
            grads.append(_place(xp, r, target, s, a.shape, a.dtype))
        return tuple(grads)


def _place(xp, r, target, s, shape, dtype):
    """Lay the gradient computed over `target` letters out over the operand's subscripts `s`
    (broadcasting letters summed only inside this operand, filling repeated-letter diagonals)."""
    sizes = dict(zip(s, shape))
    full_sub = "".join(dict.fromkeys(s))
    expand = r
    for c in full_sub:
        if c not in target:
            expand = expand[..., None]
            target = target + c
    expand = xp.einsum(target + "->" + full_sub, expand)
    expand = xp.broadcast_to(expand, tuple(sizes[c] for c in full_sub))
    if full_sub == s:
        # (reshaped: ascontiguousarray makes a 0-d gradient, einsum('->', x)'s, 1-d)
        return xp.ascontiguousarray(expand).astype(dtype, copy=False).reshape(shape)
    # repeated letters (a diagonal such as "ii"): write onto the diagonal of a zero array
    out = xp.zeros(shape, dtype=dtype)
    view = xp.einsum(s + "->" + full_sub, out)
    view[...] = expand
    return out


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, e.g. einsum('bij,bjk->bik', a, b). Ellipses are supported."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if _amp.on:
        operands = _amp.cast("einsum", *operands)
    shapes = [o._data.shape for o in operands]
    subs, out = _parse_einsum(equation, shapes)
    half = any(isinstance(t, Tensor) and is_half_numpy(t._data) for t in operands)
    try:
        return (in_float32(Einsum) if half else Einsum).apply(subs, out, *operands)
    except ValueError as e:  # sizes that do not fit: PyTorch's class (NumPy raises ValueError)
        raise BadArgumentError(f"einsum(): {e}") from None
