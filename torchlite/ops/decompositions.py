"""Matrix functions and decompositions on LAPACK (numpy.linalg / cupy.linalg): inv, det,
slogdet, solve, cholesky, qr, eigh and svd, batched over leading dims, with their derivatives.

Each backward is written over `xp` with matmul, swapaxes, tril and `xp.linalg` (inv, solve),
so the same formula builds a graph when a second derivative is asked for. The formulas are the
standard ones for real matrices: M. Giles, "An extended collection of matrix derivative results"
(2008) for inv, det and solve; I. Murray, "Differentiation of the Cholesky decomposition" (2016);
J. Townsend, "Differentiating the singular value decomposition" (2016) for svd and eigh; and
H.-J. Liao et al., "Differentiable programming tensor networks" (2019) for qr.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp


class LinAlgError(RuntimeError):
    """A matrix the computation cannot work with (singular, not positive-definite), as
    `torch.linalg.LinAlgError`."""


_REASONS = {"inv": "the input matrix is singular", "solve": "the input matrix is singular",
            "cholesky": "the input is not positive-definite"}


def lapack(xp, name: str, op: str, *args, **kwargs):
    """xp.linalg.<name>(*args), LAPACK's failure raised as LinAlgError naming `op`. CuPy does
    not report failures (it returns inf or NaN), so there a non-finite inverse, solution or
    factor of finite input is reported the same way (one device sync, as PyTorch's check)."""
    try:
        result = getattr(xp.linalg, name)(*args, **kwargs)
    except np.linalg.LinAlgError as exc:
        reason = _REASONS.get(name, str(exc))
        raise LinAlgError(f"{op}: the computation could not be completed because {reason}") \
            from None
    if name in _REASONS and xp is not np and type(result).__module__.startswith("cupy"):
        if not bool(xp.isfinite(result).all()) and all(
                bool(xp.isfinite(a).all()) for a in args):
            raise LinAlgError(f"{op}: the computation could not be completed because "
                              f"{_REASONS[name]}")
    return result


def mT(a):
    return get_xp(a).swapaxes(a, -1, -2)


def _diag_embed(v):
    """(..., n) -> (..., n, n) with v on the diagonal (a product with the identity, so it
    stays differentiable on the graph-building path)."""
    xp = get_xp(v)
    n = v.shape[-1]
    return xp.expand_dims(v, -1) * xp.eye(n, dtype=v.dtype)


def _off_diagonal_inverse(d):
    """1 / d off the diagonal, 0 on it (d: the differences of eigen- or singular values)."""
    xp = get_xp(d)
    n = d.shape[-1]
    eye = xp.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        return xp.where(eye, 0, 1 / xp.where(eye, 1, d))


class Inv(Op):
    @staticmethod
    def forward(ctx, a):
        y = lapack(get_xp(a), "inv", "linalg.inv", a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        yt = mT(y)
        return -(yt @ g @ yt)


class Slogdet(Op):
    """(sign, log|det|); only log|det| has a gradient: g * A^-T."""

    @staticmethod
    def forward(ctx, a):
        sign, logabs = get_xp(a).linalg.slogdet(a)
        ctx.save_for_backward(a)
        ctx.mark_non_differentiable(sign)
        return sign, logabs

    @staticmethod
    def backward(ctx, _g_sign, g):
        (a,) = ctx.saved_tensors
        if g is None:
            return None
        xp = get_xp(g)
        return xp.expand_dims(xp.expand_dims(g, -1), -1) * mT(
            lapack(xp, "inv", "linalg.slogdet backward", a))


class Det(Op):
    """det(A); gradient g * adj(A)^T, which is g * det * A^-T where A is invertible and comes
    from the singular value decomposition where it is not (the cofactors stay finite)."""

    @staticmethod
    def forward(ctx, a):
        d = get_xp(a).linalg.det(a)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved_tensors
        xp = get_xp(g)
        scale = xp.expand_dims(xp.expand_dims(g * d, -1), -1)
        from ..autograd.darray import DArray

        if type(a) is DArray:
            return scale * mT(xp.linalg.inv(a))  # graph-building path: invertible A only
        if bool(xp.all(d != 0)):
            try:
                return scale * mT(lapack(xp, "inv", "linalg.det backward", a))
            except LinAlgError:
                pass
        return xp.expand_dims(xp.expand_dims(g, -1), -1) * _cofactors(a)


def _cofactors(a):
    """adj(A)^T through A = U diag(s) V^T: det(U) det(V) U diag(prod_{j != i} s_j) V^T."""
    xp = get_xp(a)
    u, s, vh = xp.linalg.svd(a)
    n = s.shape[-1]
    # others[..., i]: the product of every singular value but the i-th
    others = xp.prod(xp.where(xp.eye(n, dtype=bool), 1, xp.expand_dims(s, -2)), axis=-1)
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    return xp.expand_dims(xp.expand_dims(sign, -1), -1) * ((u * xp.expand_dims(others, -2)) @ vh)


class Solve(Op):
    """X = A^-1 B for B of shape (..., n, k): gB = A^-T G, gA = -gB X^T."""

    @staticmethod
    def forward(ctx, a, b):
        x = lapack(get_xp(a), "solve", "linalg.solve", a, b)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = lapack(get_xp(g), "solve", "linalg.solve backward", mT(a), g)
        ga = -(gb @ mT(x)) if ctx.needs_input_grad[0] else None
        return ga, gb


class Cholesky(Op):
    """Lower L with A = L L^T. gA = L^-T Phi L^-1, Phi the lower triangle of L^T gL with its
    diagonal halved, mirrored to a symmetric matrix (Murray's formula, symmetrised)."""

    @staticmethod
    def forward(ctx, a):
        low = lapack(get_xp(a), "cholesky", "linalg.cholesky", a)
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx, g):
        (low,) = ctx.saved_tensors
        xp = get_xp(g)
        p = xp.tril(mT(low) @ g)
        p = 0.5 * (p + mT(xp.tril(p, -1)))
        lt = mT(low)
        op = "linalg.cholesky backward"
        return mT(lapack(xp, "solve", op, lt, mT(lapack(xp, "solve", op, lt, p))))


class Eigh(Op):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, from the
    `uplo` triangle. gA = V (diag(gw) + sym(V^T gV) / (w_j - w_i)) V^T: symmetric, as
    PyTorch's, for the symmetric perturbations the decomposition is defined under."""

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = lapack(get_xp(a), "eigh", "linalg.eigh", a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        ctx.set_materialize_grads(False)  # unused outputs: None, and their terms are skipped
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        with np.errstate(divide="ignore", invalid="ignore"):  # ties: inf/NaN, as PyTorch's
            return Eigh._backward(ctx, gw, gv)

    @staticmethod
    def _backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        xp = get_xp(v)
        inner = _diag_embed(gw) if gw is not None else 0
        if gv is not None:
            vtg = mT(v) @ gv
            f = _off_diagonal_inverse(xp.expand_dims(w, -2) - xp.expand_dims(w, -1))
            inner = inner + f * (0.5 * (vtg - mT(vtg)))
        return v @ inner @ mT(v), None


class Svd(Op):
    """A = U diag(S) Vh, k = min(m, n) singular values; with `full`, U is m x m and Vh n x n,
    their columns and rows past k an arbitrary basis of the rest of the space that gets no
    gradient (as in PyTorch). The gradient through U and Vh needs distinct nonzero singular
    values (Townsend's formula, with the terms for the parts of the column and row spaces that
    U's and V's first k vectors do not span)."""

    @staticmethod
    def forward(ctx, a, full):
        u, s, vh = lapack(get_xp(a), "svd", "linalg.svd", a, full_matrices=full)
        ctx.save_for_backward(u, s, vh)
        ctx.set_materialize_grads(False)  # svdvals: no singular-vector terms (finite at ties)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        with np.errstate(divide="ignore", invalid="ignore"):  # ties: inf/NaN, as PyTorch's
            return Svd._backward(ctx, gu, gs, gvh)

    @staticmethod
    def _backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        xp = get_xp(u)
        k = s.shape[-1]
        if u.shape[-1] > k:
            u, gu = u[..., :k], None if gu is None else gu[..., :k]
        if vh.shape[-2] > k:
            vh, gvh = vh[..., :k, :], None if gvh is None else gvh[..., :k, :]
        inner = _diag_embed(gs) if gs is not None else 0
        if gu is None and gvh is None:
            return u @ inner @ vh, None
        m, n = u.shape[-2], vh.shape[-1]
        s2 = s * s
        f = _off_diagonal_inverse(xp.expand_dims(s2, -2) - xp.expand_dims(s2, -1))
        s_row, s_col = xp.expand_dims(s, -2), xp.expand_dims(s, -1)
        v = mT(vh)
        ga = 0
        if gu is not None:
            utg = mT(u) @ gu
            inner = inner + (f * (utg - mT(utg))) * s_row
            if m > k:  # the part of gU outside U's columns
                ga = ga + ((gu - u @ utg) / s_row) @ vh
        if gvh is not None:
            gv = mT(gvh)
            vtg = mT(v) @ gv
            inner = inner + s_col * (f * (vtg - mT(vtg)))
            if n > k:
                ga = ga + u @ mT((gv - v @ vtg) / s_row)
        return u @ inner @ vh + ga, None


class Qr(Op):
    """A = Q R (reduced; complete for square or tall inputs with mode='complete'). The
    gradient is defined for m >= n in reduced mode and for square inputs; wide inputs are
    differentiated by the caller as [X | Y] with X square (see linalg.qr)."""

    @staticmethod
    def forward(ctx, a, mode):
        q, r = lapack(get_xp(a), "qr", "linalg.qr", a, mode=mode)
        ctx.save_for_backward(q, r)
        ctx.set_materialize_grads(False)
        ctx.tall_complete = mode == "complete" and a.shape[-2] > a.shape[-1]
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        if ctx.tall_complete:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        q, r = ctx.saved_tensors
        xp = get_xp(q)
        # M = R gR^T - gQ^T Q; gA = (gQ + Q copyltu(M)) R^-T, copyltu mirroring M's lower
        # triangle onto its upper one
        m = 0
        if gr is not None:
            m = r @ mT(gr)
        if gq is not None:
            m = m - mT(gq) @ q
        low = xp.tril(m)
        sym = low + mT(xp.tril(m, -1))
        rhs = q @ sym
        if gq is not None:
            rhs = rhs + gq
        return mT(lapack(xp, "solve", "linalg.qr backward", r, mT(rhs))), None


class Pinv(Op):
    """The pseudo-inverse P = A+ (singular values at or below `cutoff` dropped), with the
    gradient of the pseudo-inverse itself (Golub and Pereyra, 1973), which does not depend on
    the singular vectors the SVD picks:
    gA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""

    @staticmethod
    def forward(ctx, a, rtol, atol):
        xp = get_xp(a)
        u, s, vh = lapack(xp, "svd", "linalg.pinv", a, full_matrices=False)
        big = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,),
                                                                          s.dtype)
        cutoff = xp.maximum(atol, rtol * big)
        keep = s > cutoff
        s_inv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(s.dtype, copy=False)
        p = (mT(vh) * xp.expand_dims(s_inv, -2)) @ mT(u)
        ctx.save_for_backward(a, p)
        return p

    @staticmethod
    def backward(ctx, g):
        a, p = ctx.saved_tensors
        xp = get_xp(g)
        m, n = a.shape[-2], a.shape[-1]
        pt, gt = mT(p), mT(g)
        ga = -(pt @ g @ pt)
        ga = ga + (xp.eye(m, dtype=g.dtype) - a @ p) @ gt @ (p @ pt)
        ga = ga + (pt @ p) @ gt @ (xp.eye(n, dtype=g.dtype) - p @ a)
        return ga, None, None
