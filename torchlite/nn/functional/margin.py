"""The multi-class margin losses (multi_margin_loss, multilabel_margin_loss) and
triplet_margin_with_distance_loss, composed of differentiable ops with PyTorch's formulas."""

from __future__ import annotations

from ...amp import state as _amp
from ...ops import elementwise as ew
from ...ops import ternary as tern
from ...tensor import Tensor
from ._util import check_reduction, legacy_reduction
from ._util import reduce as _apply_reduction


def _class_scores(input: Tensor, target: Tensor, op: str):
    """input as (N, C) and target as (N,) int64, and whether input was 1-D."""
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{op}: expected a 1D or 2D input, got shape {tuple(input.shape)}")
    single = input.ndim == 1
    x = input.unsqueeze(0) if single else input
    return x, target, single


@_amp.op("multi_margin_loss")
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Per sample: sum over classes i != y of max(0, margin - x[y] + x[i])^p (times weight[y]),
    divided by the number of classes. p is 1 or 2. Shape: (N, C) with target (N), or (C)."""
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x, t, single = _class_scores(input, target, "multi_margin_loss")
    t = t.reshape(-1).long()
    if t.shape[0] != x.shape[0]:
        raise RuntimeError(f"multi_margin_loss: inconsistent target size: {tuple(target.shape)} "
                           f"for input of size: {tuple(input.shape)}")
    n, c = x.shape
    if n and (int(t.min()) < 0 or int(t.max()) >= c):
        raise IndexError(f"multi_margin_loss: target out of range for {c} classes")
    picked = x.gather(1, t.unsqueeze(1))  # x[y], (N, 1)
    terms = tern.clamp_min(margin - picked + x, 0.0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        terms = terms * weight[t].unsqueeze(1)
    import torchlite.nn.functional as F

    not_target = 1.0 - F.one_hot(t, c).to(x.dtype)
    loss = (terms * not_target).sum(1) / c
    if single:
        loss = loss.reshape(())
    return _apply_reduction(loss, check_reduction(legacy_reduction(size_average, reduce,
                                                                   reduction)))


@_amp.op("multilabel_margin_loss")
def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Per sample: sum over target classes j and non-target classes i of
    max(0, 1 - (x[j] - x[i])), divided by the number of classes. target holds class indices,
    ended by the first -1. Shape: (N, C) with target (N, C), or (C) with (C)."""
    x, t, single = _class_scores(input, target, "multilabel_margin_loss")
    t = (t.unsqueeze(0) if single else t).long()
    if tuple(t.shape) != tuple(x.shape):
        raise RuntimeError(f"multilabel_margin_loss: inconsistent target size: "
                           f"{tuple(target.shape)} for input of size: {tuple(input.shape)}")
    import torchlite

    n, c = x.shape
    with torchlite.no_grad():
        # the labels are the entries before the first -1 of each row
        valid = (t >= 0).long().cumprod(1).bool()
        index = torchlite.where(valid, t, torchlite.full_like(t, c))
        # how often each class is listed (a repeated label counts each time, as in PyTorch)
        counts = torchlite.zeros(n, c + 1, dtype=x.dtype, device=x.device).scatter_add(
            1, index, torchlite.ones_like(index, dtype=x.dtype))[:, :c]
        is_target = (counts > 0).to(x.dtype)
    # pairs (label j, class i): max(0, 1 - x[j] + x[i]) where j is a label and i is not
    diff = tern.clamp_min(1.0 - x.unsqueeze(2) + x.unsqueeze(1), 0.0)  # [n, j, i]
    pair = counts.unsqueeze(2) * (1.0 - is_target).unsqueeze(1)
    loss = (diff * pair).sum((1, 2)) / c
    if single:
        loss = loss.reshape(())
    return _apply_reduction(loss, check_reduction(legacy_reduction(size_average, reduce,
                                                                   reduction)))


@_amp.op("triplet_margin_with_distance_loss")
def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with any distance function (default the pairwise
    2-norm); swap uses min(d(a, n), d(p, n))."""
    from .distance import pairwise_distance

    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, "
                         f"got {margin} instead")
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {dims[0]}D, positive "
                           f"{dims[1]}D, and negative {dims[2]}D inputs")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = ew.minimum(d_neg, dist(positive, negative))
    loss = tern.clamp_min(margin + d_pos - d_neg, 0.0)
    return _apply_reduction(loss, check_reduction(reduction))
