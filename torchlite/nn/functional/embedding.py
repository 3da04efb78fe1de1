"""embedding (a row lookup with a scatter-add backward) and one_hot."""

from __future__ import annotations

import numpy as np

from ...autograd import grad_mode
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.scatter import add_at, bincount
from ...tensor import Tensor
from ._util import check_tensor


class Embedding(Op):
    @staticmethod
    def forward(ctx, idx, w, padding_idx, scale_grad_by_freq, sparse=False):
        ctx.idx, ctx.shape, ctx.padding_idx = idx, w.shape, padding_idx
        ctx.scale, ctx.sparse = scale_grad_by_freq, sparse
        return w[idx]

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        idx = ctx.idx.reshape(-1)
        rows = g.reshape(-1, ctx.shape[1])
        if ctx.scale:
            counts = bincount(idx, ctx.shape[0])
            rows = rows / counts[idx].astype(g.dtype)[:, None]
        if ctx.sparse:
            return None, sparse_rows_grad(idx, rows, ctx.shape, ctx.padding_idx), None, None, None
        gw = xp.zeros(ctx.shape, dtype=g.dtype)
        if hasattr(xp.add, "at"):
            add_at(gw, idx, rows)  # repeated indices accumulate (deterministic if asked)
        else:  # an array module without ufunc.at: a one-hot matrix product does the same
            onehot = (idx[None, :] == xp.arange(ctx.shape[0])[:, None]).astype(g.dtype)
            gw = onehot @ rows
        if ctx.padding_idx is not None:
            gw[ctx.padding_idx] = 0
        return None, gw, None, None, None


def sparse_rows_grad(idx, rows, shape, padding_idx):
    """The gradient of a row lookup as an uncoalesced COO tensor: one entry per looked-up row
    (those at padding_idx left out), as PyTorch's sparse embedding gradient."""
    from ...sparse.storage import COO

    xp = get_xp(rows)
    idx = idx.astype(xp.int64, copy=False)
    if padding_idx is not None:
        keep = idx != padding_idx
        idx, rows = idx[keep], rows[keep]
    return COO(idx.reshape(1, -1), xp.ascontiguousarray(rows), shape)


def _renorm_(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, the looked-up rows whose norm exceeds max_norm (as PyTorch)."""
    w = weight._data
    xp = get_xp(w)
    rows = xp.unique(idx.reshape(-1))
    sel = w[rows]
    if norm_type == float("inf"):
        norms = xp.abs(sel).max(axis=1)
    else:
        norms = (xp.abs(sel) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] = sel * scale[:, None]
    weight._bump()


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of `weight`. Shape: input (*) integer indices, weight (V, D) -> (*, D).

    The gradient at padding_idx is zero; max_norm renormalises the looked-up rows in place first.
    With `sparse=True` the weight's gradient is a sparse COO tensor holding the looked-up rows.
    """
    check_tensor(input, "embedding")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {input.dtype} instead"
        )
    if weight.dim() != 2:
        raise RuntimeError(f"embedding: weight must be 2-D, got shape {tuple(weight.shape)}")
    if input._device is not weight._device:  # the indices go to the op as a raw array
        raise RuntimeError(
            f"embedding: expected all tensors to be on the same device, but found at least two "
            f"devices, {weight._device} (weight) and {input._device} (indices)"
        )
    v = weight.shape[0]
    idx = input._data
    if get_xp(idx).__name__ == "numpy" and idx.size and (idx.min() < 0 or idx.max() >= v):
        raise IndexError("index out of range in self")
    if padding_idx is not None:
        if padding_idx < 0:
            if padding_idx < -v:
                raise ValueError("Padding_idx must be within num_embeddings")
            padding_idx += v
        elif padding_idx >= v:
            raise ValueError("Padding_idx must be within num_embeddings")
    if max_norm is not None:
        with grad_mode.no_grad():
            _renorm_(weight, idx, float(max_norm), float(norm_type))
    return Embedding.apply(idx, weight, padding_idx, bool(scale_grad_by_freq), bool(sparse))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim. Shape: (*) -> (*, num_classes).

    Class values out of [0, num_classes) raise RuntimeError on the CPU; on a GPU they are not
    checked (the check would stall the device) and give all-zero rows. Without `num_classes`
    the largest value is read, which waits for a GPU.
    """
    check_tensor(tensor, "one_hot", "tensor")
    x = tensor._data
    if x.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = get_xp(x)
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(x.max()) + 1
    if xp is np and x.size and int(x.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    if xp is np and x.size and int(x.max()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (x[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._make(out, tensor._device)
