"""scatter_reduce: the values of src reduced into input at index along a dim ('sum', 'prod',
'mean', 'amax', 'amin'), with PyTorch's gradients (prod exact with zeros; amax/amin shared
evenly among the values equal to the result)."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp
from ..tensor import Tensor
from .indexing import scatter_args
from .out import with_out
from .scatter import add_at, along_axis_key, scatter_reduce_array, ufunc_at


class ScatterReduce(Op):
    """scatter_reduce: gradients as PyTorch's (prod: exact with zeros; amax/amin: shared evenly
    among the values equal to the result)."""

    @staticmethod
    def forward(ctx, x, src, axis, idx, reduce, include_self):
        key = along_axis_key(idx, axis, get_xp(x))
        vals = src[tuple(slice(0, s) for s in idx.shape)]
        out, count = scatter_reduce_array(x, vals, key, reduce, include_self)
        ctx.key, ctx.reduce, ctx.include_self, ctx.src_shape = key, reduce, include_self, src.shape
        ctx.save_for_backward(x, vals, out, count)
        return out

    @staticmethod
    def backward(ctx, g):
        x, v, out, count = ctx.saved_tensors
        xp, key, reduce, keep = get_xp(g), ctx.key, ctx.reduce, ctx.include_self
        hit = count > 0
        if reduce == "sum":
            gx, gv = (g if keep else xp.where(hit, 0, g)), g[key]
        elif reduce == "mean":
            gm = g / xp.maximum(count, 1).astype(g.dtype)
            gx, gv = xp.where(hit, gm if keep else 0, g), gm[key]
        elif reduce == "prod":
            gx, gv = _prod_grads(xp, g, x, v, out, key, keep, hit)
        else:  # amax, amin: ties share the gradient; as in PyTorch, a self value equal to the
            # result counts among the ties even when include_self=False (and then gets nothing)
            own = x == out
            won = v == out[key]
            n = own.astype(g.dtype)
            add_at(n, key, won.astype(g.dtype))
            share = g / xp.maximum(n, 1)
            gx = xp.where(own, share, 0) if keep else xp.where(hit, 0, g)
            gv = xp.where(won, share[key], 0)
        pad = [(0, s - p) for s, p in zip(ctx.src_shape, gv.shape)]
        gv = xp.pad(gv, pad) if any(p for _, p in pad) else gv
        return gx.astype(g.dtype, copy=False), gv.astype(g.dtype, copy=False), None, None, None, \
            None

    @staticmethod
    def graph_backward(ctx, g):
        if ctx.reduce == "prod":  # its product of the others is a multiplicative scatter
            raise NotImplementedError(
                "double backward of scatter_reduce(reduce='prod') is not supported by torchlite"
            )
        return ScatterReduce.backward(ctx, g)


def _prod_grads(xp, g, x, v, out, key, keep, hit):
    # d out / d a = out / a without zeros; with one zero in the group, only the zero gets the
    # product of the others; with two or more, nothing does
    zeros = (hit & (x == 0)).astype(np.int64) if keep else xp.zeros(x.shape, dtype=np.int64)
    add_at(zeros, key, (v == 0).astype(np.int64))
    others = xp.where(hit & (x != 0), x, 1) if keep else xp.ones_like(x)
    ufunc_at("multiply", others, key, xp.where(v == 0, 1, v))

    def grad(gg, a, o, z, p):
        safe = xp.where(a == 0, 1, a)
        return xp.where(z == 0, gg * o / safe, xp.where((z == 1) & (a == 0), gg * p, 0))

    gx = xp.where(hit, grad(g, x, out, zeros, others) if keep else 0, g)
    return gx, grad(g[key], v, out[key], zeros[key], others[key])


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out=None) -> Tensor:
    """out = input with the values of src reduced ('sum', 'prod', 'mean', 'amax', 'amin') into
    the positions index names along dim; include_self=False leaves input's own values out of
    the positions that receive some."""
    if out is not None:
        return with_out(scatter_reduce, "scatter_reduce", out, (input, dim, index, src, reduce),
                        {"include_self": include_self})
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce(): argument 'src' must be Tensor, not "
                        f"{type(src).__name__}")
    d, idx = scatter_args(input, dim, index, src, "scatter_reduce")
    return ScatterReduce.apply(input, src, d, idx, reduce, bool(include_self))
