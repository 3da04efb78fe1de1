"""Regression and binary losses: elementwise Ops, then the reduction.

Each Op returns the unreduced loss and its backward the gradient for input and target (both
may require grad; broadcasting is undone); the regression losses are elementwise ops of
d = input - target (ops/elementwise_factory.py). Reductions use the core mean/sum.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...amp import state as _amp
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.broadcast import unbroadcast
from ...ops.elementwise_factory import elementwise
from ...tensor import Tensor
from ._util import check_float, check_reduction, check_tensor, legacy_reduction, reduce

_QUIET = {"over": "ignore", "invalid": "ignore"}  # a diverging model: inf, NaN


# The regression losses: elementwise ops of input and target, called through `_apply`. Their
# derivatives read d = input - target from the two inputs (the target's derivative is minus the
# input's); saving the inputs rather than d lets the same formulas build a graph of the
# backward pass (gradient penalties, physics-informed losses), where d must keep its history.

def _squared(xp, a, b):
    d = a - b
    return d * d


def _squared_grad(xp, g, a, b, out):
    return g * (2 * (a - b))


def _absolute(xp, a, b):
    return xp.abs(a - b)


def _absolute_grad(xp, g, a, b, out):
    return g * xp.sign(a - b)


def _smooth_l1(xp, a, b, beta):
    d = a - b
    ad = xp.abs(d)
    if beta == 0:
        return ad
    return xp.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)


def _smooth_l1_grad(xp, g, a, b, out, beta):
    d = a - b
    if beta == 0:
        return g * xp.sign(d)
    return g * xp.where(xp.abs(d) < beta, d / beta, xp.sign(d))


def _huber(xp, a, b, delta):
    d = a - b
    ad = xp.abs(d)
    return xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))


def _huber_grad(xp, g, a, b, out, delta):
    return g * xp.clip(a - b, -delta, delta)


def _negated(vjp):
    def target_vjp(xp, g, a, b, out, **kw):
        return -vjp(xp, g, a, b, out, **kw)

    return target_vjp


SquaredError, AbsoluteError, SmoothL1, Huber = (
    elementwise(name, f, df, _negated(df), reads=("a b", "a b"), quiet=_QUIET)
    for name, f, df in (("SquaredError", _squared, _squared_grad),
                        ("AbsoluteError", _absolute, _absolute_grad),
                        ("SmoothL1", _smooth_l1, _smooth_l1_grad),
                        ("Huber", _huber, _huber_grad)))


def _apply(op, input: Tensor, target: Tensor, **kw) -> Tensor:
    x, t = input._data, target._data
    return op.apply(input, target, x.dtype if x.dtype is t.dtype else np.result_type(x, t), **kw)


def _pair(input, target, fn: str):
    check_float(input, fn)
    check_tensor(target, fn, "target")
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.shape!r}) that is different to the input size "
            f"({input.shape!r}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.", stacklevel=3,
        )


@_amp.op("mse_loss")
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """(input - target)**2, reduced. Shape: any; target broadcastable to input."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _pair(input, target, "mse_loss")
    loss = _apply(SquaredError, input, _float_like(target, input))
    return _weighted(loss, weight, reduction)


@_amp.op("l1_loss")
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """|input - target|, reduced."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _pair(input, target, "l1_loss")
    loss = _apply(AbsoluteError, input, _float_like(target, input))
    return _weighted(loss, weight, reduction)


@_amp.op("smooth_l1_loss")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target)."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _pair(input, target, "smooth_l1_loss")
    return reduce_(_apply(SmoothL1, input, _float_like(target, input),
                                  beta=float(beta)),
                   reduction)


@_amp.op("huber_loss")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d**2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere."""
    reduction = check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _pair(input, target, "huber_loss")
    loss = _apply(Huber, input, _float_like(target, input), delta=float(delta))
    return _weighted(loss, weight, reduction)


def _float_like(t: Tensor, like: Tensor) -> Tensor:
    return t if t._data.dtype.kind in "fV" else t.to(like.dtype)


def _weighted(loss: Tensor, weight, reduction: str) -> Tensor:
    """PyTorch's weighted pointwise losses: 'mean' divides by the sum of the weights."""
    if weight is None:
        return reduce(loss, reduction)
    if tuple(weight.shape) != tuple(loss.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return reduce(loss, reduction)


reduce_ = reduce


def _check_same_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape!r}) that is different to the input size "
            f"({input.shape!r}) is deprecated. Please ensure they have the same size."
        )


def _broadcast_const(w, like: Tensor):
    """A weight tensor as an array broadcast to the loss's shape (weights take no gradient)."""
    if w is None:
        return None
    shape = like.shape
    if w._device is not like._device:  # a raw array: the Op cannot check its device
        raise RuntimeError(f"weight is on {w._device} but the input is on {like._device}")
    try:
        np.broadcast_shapes(tuple(w.shape), tuple(shape))
    except ValueError:
        raise RuntimeError(
            f"weight of shape {tuple(w.shape)} cannot be broadcast to the input shape "
            f"{tuple(shape)}"
        ) from None
    if np.broadcast_shapes(tuple(w.shape), tuple(shape)) != tuple(shape):
        raise RuntimeError(
            f"weight of shape {tuple(w.shape)} cannot be broadcast to the input shape "
            f"{tuple(shape)}"
        )
    return w._data


class BinaryCrossEntropy(Op):
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100 as in PyTorch."""

    @staticmethod
    def forward(ctx, p, y, w):
        xp = get_xp(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = xp.maximum(xp.log(p), -100.0)
            log1mp = xp.maximum(xp.log1p(-p), -100.0)
        loss = -(y * logp + (1 - y) * log1mp)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(p, y)
        ctx.w = w
        return loss.astype(p.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        p, y = ctx.saved_tensors
        gw = g * ctx.w if ctx.w is not None else g
        gp = gy = None
        if ctx.needs_input_grad[0]:
            denom = get_xp(p).maximum((1 - p) * p, 1e-12)
            gp = (gw * (p - y) / denom).astype(p.dtype, copy=False)
        if ctx.needs_input_grad[1]:  # rare (a learned target): the logs again, from p
            xp = get_xp(p)
            with np.errstate(divide="ignore", invalid="ignore"):
                logp = xp.maximum(xp.log(p), -100.0)
                log1mp = xp.maximum(xp.log1p(-p), -100.0)
            gy = (gw * (log1mp - logp)).astype(y.dtype, copy=False)
        return gp, gy, None


@_amp.op("binary_cross_entropy")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy of probabilities `input` (in [0, 1]) against `target`.

    The [0, 1] range of `input` is checked on the CPU only (a check on the GPU would stall it).
    `weight` takes no gradient.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    check_float(input, "binary_cross_entropy")
    check_float(target, "binary_cross_entropy", "target")
    _check_same_size(input, target)
    x = input._data
    if get_xp(x) is np and x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target, _broadcast_const(weight, input))
    return reduce_(loss, reduction)


class BCEWithLogits(Op):
    """(1 - y) x + (1 + (pw - 1) y) * softplus(-x), with softplus computed stably."""

    @staticmethod
    def forward(ctx, x, y, w, pw):
        xp = get_xp(x)
        sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus(-x) = -log sigmoid(x)
        with np.errstate(over="ignore", invalid="ignore"):  # inf logits: inf * 0, as PyTorch
            if pw is not None:
                lw = 1 + (pw - 1) * y
                loss = (1 - y) * x + lw * sp
            else:
                loss = (1 - y) * x + sp
            if w is not None:
                loss = loss * w
        ctx.save_for_backward(x, y)
        ctx.w, ctx.pw = w, pw
        return loss.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = get_xp(g)
        gw = g * ctx.w if ctx.w is not None else g
        gx = gy = None
        if ctx.needs_input_grad[0]:
            e = xp.exp(-xp.abs(x))
            sig_neg = xp.where(x >= 0, e / (1 + e), 1 / (1 + e))  # sigmoid(-x)
            lw = 1 + (ctx.pw - 1) * y if ctx.pw is not None else 1
            gx = (gw * ((1 - y) - lw * sig_neg)).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[1]:
            if ctx.pw is not None:  # softplus(-x) again, from x (a learned target is rare)
                sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
                d = -x + (ctx.pw - 1) * sp
            else:
                d = -x
            gy = unbroadcast(gw * d, y.shape, y.dtype)
        return gx, gy, None, None


@_amp.op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """sigmoid + binary cross entropy in one stable step; pos_weight scales positive targets.

    Shape: input and target (*) equal; pos_weight broadcastable to them (usually (C,)).
    Unlike PyTorch, `weight` and `pos_weight` are constants here (they take no gradient).
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    check_float(input, "binary_cross_entropy_with_logits")
    check_float(target, "binary_cross_entropy_with_logits", "target")
    _check_same_size(input, target)
    loss = BCEWithLogits.apply(input, target, _broadcast_const(weight, input),
                               _broadcast_const(pos_weight, input))
    return reduce_(loss, reduction)


class KLDiv(Op):
    """target * (log target - input) (0 where target is 0), or with log-space targets."""

    @staticmethod
    def forward(ctx, x, t, log_target):
        xp = get_xp(x)
        if log_target:
            with np.errstate(invalid="ignore"):  # t = -inf: 0 * inf = NaN, as PyTorch
                loss = xp.exp(t) * (t - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                loss = xp.where(t > 0, t * (xp.log(xp.where(t > 0, t, 1)) - x), 0)
        ctx.save_for_backward(x, t)
        ctx.log_target = log_target
        return loss.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        xp = get_xp(g)
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = unbroadcast(-g * (xp.exp(t) if ctx.log_target else t), x.shape, x.dtype)
        if ctx.needs_input_grad[1]:
            if ctx.log_target:
                with np.errstate(invalid="ignore"):
                    d = xp.exp(t) * (t - x + 1)
            else:
                safe = xp.where(t > 0, t, 1)
                d = xp.where(t > 0, xp.log(safe) + 1 - x, 0)
            gt = unbroadcast(g * d, t.shape, t.dtype)
        return gx, gt, None


@_amp.op("kl_div")
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence of `target` from log-probabilities `input`; 'batchmean' is the true KL."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction, ("batchmean",))
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", stacklevel=2,
        )
    check_float(input, "kl_div")
    check_float(target, "kl_div", "target")
    loss = KLDiv.apply(input, target, bool(log_target))
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return reduce_(loss, reduction)
