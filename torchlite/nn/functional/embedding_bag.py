"""embedding_bag: sums, means or maxima of bags of embedding rows, without building the
(bags, length, dim) lookup first, and with a sparse gradient for the table when asked."""

from __future__ import annotations

from typing import Any

from ...autograd import grad_mode
from ...autograd.function import Op
from ...autograd.graph_backward import refuse_double_backward
from ...backend import get_xp
from ...ops.scatter import add_at, bincount
from ...tensor import Tensor
from ._util import check_tensor
from .embedding import _renorm_, sparse_rows_grad

_MODES = ("sum", "mean", "max")


class EmbeddingBag(Op):
    @staticmethod
    def forward(ctx, w, psw, idx, bag, keep, n_bags, mode, scale, sparse, padding_idx):
        xp = get_xp(w)
        rows = w[idx]  # (n, D)
        weight = keep.astype(w.dtype)
        if psw is not None:
            weight = weight * psw
        ctx.idx, ctx.bag, ctx.keep, ctx.shape = idx, bag, keep, w.shape
        ctx.mode, ctx.scale, ctx.sparse, ctx.padding_idx = mode, scale, sparse, padding_idx
        ctx.weight, ctx.psw = weight, psw
        out = xp.zeros((n_bags, w.shape[1]), dtype=w.dtype)
        if mode == "max":
            best = xp.full((n_bags, w.shape[1]), -xp.inf, dtype=w.dtype)
            live = xp.nonzero(keep)[0]
            xp.maximum.at(best, bag[live], rows[live])
            filled = xp.isfinite(best) | (bincount(bag[live], n_bags) > 0)[:, None]
            out = xp.where(filled, best, out).astype(w.dtype)
            # the first element of each bag that reaches the maximum gets the gradient
            n = idx.shape[0]
            hit = (rows == out[bag]) & keep[:, None]
            pos = xp.where(hit, xp.arange(n)[:, None], n)
            first = xp.full((n_bags, w.shape[1]), n, dtype=pos.dtype)
            xp.minimum.at(first, bag, pos)
            ctx.first = first
            return out
        add_at(out, bag, rows * weight[:, None])
        if mode == "mean":
            counts = bincount(bag[xp.nonzero(keep)[0]], n_bags).astype(w.dtype)
            ctx.counts = xp.maximum(counts, 1)
            out /= ctx.counts[:, None]
        ctx.rows = rows if psw is not None else None
        return out

    # PyTorch does not differentiate this op's backward: neither does the graph path
    graph_backward = staticmethod(refuse_double_backward("_embedding_bag_backward"))

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        idx, bag, n = ctx.idx, ctx.bag, ctx.idx.shape[0]
        gw = gpsw = None
        if ctx.mode == "max":
            per = xp.zeros((n + 1, g.shape[1]), dtype=g.dtype)  # row n: empty bags' sink
            add_at(per, (ctx.first, xp.arange(g.shape[1])[None, :]), g)
            per = per[:n]
        else:
            gb = g / ctx.counts[:, None] if ctx.mode == "mean" else g
            per = gb[bag] * ctx.weight[:, None]
            if ctx.needs_input_grad[1]:
                gpsw = (gb[bag] * ctx.rows).sum(axis=1) * ctx.keep
        if ctx.needs_input_grad[0]:
            if ctx.scale:
                counts = bincount(idx, ctx.shape[0])
                per = per / xp.maximum(counts[idx], 1).astype(g.dtype)[:, None]
            live = xp.nonzero(ctx.keep)[0]
            if ctx.sparse:
                gw = sparse_rows_grad(idx[live], per[live], ctx.shape, None)
            else:
                gw = xp.zeros(ctx.shape, dtype=g.dtype)
                add_at(gw, idx[live], per[live])
        return gw, gpsw, None, None, None, None, None, None, None, None


def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool):
    """(flat indices, bag of each, number of bags, elements past the last bag)."""
    x = input._data
    xp = get_xp(x)
    if x.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                             "a mini-batch of fixed length sequences. However, found offsets of "
                             f"type {type(offsets).__name__}")
        b, length = x.shape
        return x.reshape(-1), xp.repeat(xp.arange(b, dtype=xp.int64), length), b, None
    if x.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {x.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = offsets._data
    if off.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if off.dtype.kind not in "iu":
        raise RuntimeError("embedding_bag: offsets must be an integer tensor")
    if get_xp(off) is __import__("numpy") and off.size:
        if int(off[0]) != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                               f"mini-batch has to start from position 0. However, got "
                               f"{int(off[0])}")
        if int(off[-1]) > x.shape[0]:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length "
                               f"({x.shape[0]}), but got offsets[-1] of {int(off[-1])}")
    starts = off[:-1] if include_last_offset else off
    n_bags = int(starts.shape[0])
    pos = xp.arange(x.shape[0])
    bag = (xp.searchsorted(starts, pos, side="right") - 1).astype(xp.int64)
    past = pos >= off[-1] if include_last_offset and off.size else None
    return x, xp.maximum(bag, 0), n_bags, past


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2.0,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sum, mean or max of bags of rows of `weight`, as `torch.nn.functional.embedding_bag`.

    Shape: input (B, N) (bags of N ids) or (n,) with offsets (B,) (bag starts; B + 1 with
    include_last_offset), weight (V, D) -> (B, D). Ids at padding_idx are left out of their bag
    (and of its mean); an empty bag gives zeros. per_sample_weights (shaped as input) scale
    the rows, mode 'sum' only. `sparse=True` gives the weight a sparse COO gradient.
    """
    check_tensor(input, "embedding_bag")
    check_tensor(weight, "embedding_bag", "weight")
    if mode not in _MODES:
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode!r}")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {input.dtype} instead")
    if weight.dim() != 2:
        raise RuntimeError(f"embedding_bag: weight must be 2-D, got shape {tuple(weight.shape)}")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                             f"is not None, then it must have the same shape as the input "
                             f"({input.shape})")
    v = weight.shape[0]
    idx, bag, n_bags, past = _bags(input, offsets, include_last_offset)
    xp = get_xp(idx)
    idx = idx.astype(xp.int64, copy=False)
    if xp.__name__ == "numpy" and idx.size and (idx.min() < 0 or idx.max() >= v):
        raise IndexError("index out of range in self")
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise ValueError("padding_idx must be within the number of embeddings")
        padding_idx = padding_idx % v
    keep = idx != padding_idx if padding_idx is not None else xp.ones(idx.shape, dtype=bool)
    if past is not None:
        keep &= ~past
    if max_norm is not None:
        with grad_mode.no_grad():
            _renorm_(weight, idx, float(max_norm), float(norm_type))
    psw: Any = None
    if per_sample_weights is not None:
        psw = per_sample_weights.reshape(-1)
    return EmbeddingBag.apply(weight, psw, idx, bag, keep, n_bags, mode,
                              bool(scale_grad_by_freq), bool(sparse), padding_idx)
