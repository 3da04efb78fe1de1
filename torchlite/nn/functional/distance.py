"""Distances, normalisation and the losses built on them, composed from core ops."""

from __future__ import annotations

import math

import numpy as np

from ...amp import state as _amp
from ...autograd import grad_mode
from ...ops import elementwise as ew
from ...ops import reduction as red
from ...ops import ternary as tern
from ...ops import unary
from ...ops.creation import tensor
from ...tensor import Tensor
from ._util import check_float, check_reduction, check_tensor, legacy_reduction, reduce


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """input / max(||input||_p, eps) along `dim`."""
    check_float(input, "normalize")
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    denom = tern.clamp_min(red.norm(input, p, dim=dim, keepdim=True), eps)
    return input / denom


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / (max(||x1||, eps) * max(||x2||, eps)) along `dim` (inputs broadcast)."""
    check_float(x1, "cosine_similarity", "x1")
    check_float(x2, "cosine_similarity", "x2")
    n1 = tern.clamp_min(red.norm(x1, 2, dim=dim, keepdim=True), eps)
    n2 = tern.clamp_min(red.norm(x2, 2, dim=dim, keepdim=True), eps)
    return red.sum((x1 / n1) * (x2 / n2), dim=dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim. Shape: (N, D) or (D,) -> (N,) or ()."""
    check_float(x1, "pairwise_distance", "x1")
    check_float(x2, "pairwise_distance", "x2")
    return red.norm(x1 - x2 + eps, p, dim=-1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """Distances between all pairs of rows (upper triangle). Shape: (N, M) -> (N(N-1)/2,)."""
    n = input.shape[0]
    i, j = np.triu_indices(n, k=1)
    ii = tensor(i, device=input.device)
    jj = tensor(j, device=input.device)
    return red.norm(input[ii] - input[jj], p, dim=-1)


def _reduced(loss: Tensor, size_average, reduce_flag, reduction: str) -> Tensor:
    return reduce(loss, check_reduction(legacy_reduction(size_average, reduce_flag, reduction)))


@_amp.op("cosine_embedding_loss")
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target is 1; max(0, cos(x1, x2) - margin) where it is -1.

    Shape: (N, D) or (D,) inputs, target (N) or ().
    """
    check_tensor(target, "cosine_embedding_loss", "target")
    if input1.dim() != input2.dim() or input1.dim() not in (1, 2):
        raise RuntimeError(
            f"cosine_embedding_loss: expected 1D or 2D inputs of the same rank, got "
            f"{tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    dim = input1.dim() - 1
    eps = 1e-12  # PyTorch's: added to the squared magnitudes
    prod = red.sum(input1 * input2, dim=dim)
    mag1 = red.sum(input1 * input1, dim=dim) + eps
    mag2 = red.sum(input2 * input2, dim=dim) + eps
    cos = prod / unary.sqrt(mag1 * mag2)
    zeros = cos * 0.0
    pos = tern.where(target == 1, 1.0 - cos, zeros)
    neg = tern.where(target == -1, tern.clamp_min(cos - margin, 0.0), zeros)
    return _reduced(pos + neg, size_average, reduce, reduction)


@_amp.op("margin_ranking_loss")
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (x1 - x2) + margin). Shape: (N) or () for all three."""
    if not (input1.dim() == input2.dim() == target.dim()):
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape!r}, input2: {input2.shape!r}, target: {target.shape!r} "
        )
    t = target if target._data.dtype.kind in "fV" else target.to(input1.dtype)
    loss = tern.clamp_min(-t * (input1 - input2) + margin, 0.0)
    return _reduced(loss, size_average, reduce, reduction)


@_amp.op("triplet_margin_loss")
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with the pairwise p-norm distance. Shape: (N, D) or (D,).

    swap=True uses min(d(a, n), d(p, n)) as the negative distance.
    """
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1 or dims[0] not in (1, 2):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions (1 or 2), but got: anchor {dims[0]}D, positive {dims[1]}D, and "
            f"negative {dims[2]}D inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ew.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = tern.clamp_min(margin + d_pos - d_neg, 0.0)
    return _reduced(loss, size_average, reduce, reduction)


@_amp.op("hinge_embedding_loss")
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """x where target is 1, max(0, margin - x) where it is -1."""
    zeros = input * 0.0
    margin_clamp = tern.clamp_min(margin - input, 0.0)
    out_margin = tern.where(target != 1, margin_clamp, zeros)
    out_self = tern.where(target != -1, input, zeros)
    return _reduced(out_margin + out_self, size_average, reduce, reduction)


@_amp.op("soft_margin_loss")
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input))."""
    from .activation import softplus

    t = target if target._data.dtype.kind in "fV" else target.to(input.dtype)
    return _reduced(softplus(-t * input), size_average, reduce, reduction)


@_amp.op("poisson_nll_loss")
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log likelihood (input is the log-rate when log_input=True)."""
    if log_input:
        loss = unary.exp(input) - target * input
    else:
        loss = input - target * unary.log(input + eps)
    if full:
        t = target
        stirling = t * unary.log(t) - t + 0.5 * unary.log(2 * math.pi * t)
        loss = loss + tern.where(t > 1, stirling, stirling * 0.0)
    return _reduced(loss, size_average, reduce, reduction)


@_amp.op("gaussian_nll_loss")
def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """0.5 * (log(max(var, eps)) + (input - target)**2 / max(var, eps)) (+ const if full).

    A negative entry of `var` raises ValueError on the CPU; on a GPU it is not checked (the
    check would stall the device every call) and is clamped to eps like the others.
    """
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)  # one variance per sample, broadcast over the last dim
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if var._device.type == "cpu" and bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    with grad_mode.no_grad():  # PyTorch clamps var without letting the clamp cut the gradient
        clamped = tern.clamp_min(var.detach(), eps)
    v = var + (clamped - var.detach())
    loss = 0.5 * (unary.log(v) + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce(loss, check_reduction(reduction))


@_amp.op("multilabel_soft_margin_loss")
def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """-mean_c [y log sigmoid(x) + (1 - y) log sigmoid(-x)]. Shape: (N, C)."""
    from .activation import logsigmoid

    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = red.mean(loss, dim=input.dim() - 1)
    return _reduced(loss, size_average, reduce, reduction)
