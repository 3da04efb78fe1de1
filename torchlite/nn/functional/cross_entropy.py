"""cross_entropy and nll_loss: fused Ops with PyTorch's weighting, ignore_index and smoothing.

Shapes: input (N, C) or (N, C, d1, ...) or unbatched (C,); class-index targets (N) or
(N, d1, ...) or (); probability targets have the input's shape. The 'mean' reduction with class
indices divides by the sum of the weights of the non-ignored targets (their count when there
are no weights), as PyTorch does; with probability targets it divides by N * d1 * ...
When every target is ignored, the mean is 0/0 = NaN but the gradients are zero (PyTorch's
numbers): an ignored target contributes nothing, not even NaN * 0.
"""

from __future__ import annotations

import numpy as np

from ...amp import state as _amp
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.half_compute import in_float32, is_half_numpy
from ...tensor import Tensor
from ._util import check_reduction, check_tensor, legacy_reduction
from .softmax import log_softmax_array


def _class_shape(ndim: int, c: int):
    shape = [1] * ndim
    shape[1] = c
    return tuple(shape)


def _targets(xp, x, t, w, ignore_index):
    """Per-element target column, validity mask and weight of each target (0 where ignored)."""
    valid = t != ignore_index
    tt = xp.where(valid, t, 0)
    coef = valid.astype(x.dtype)
    if w is not None:
        coef = coef * w[tt]
    return valid, tt, coef


def _onehot(xp, tt, c: int, dtype):
    return (xp.arange(c).reshape(_class_shape(tt.ndim + 1, c)) == tt[:, None]).astype(dtype)


def _reduce(xp, loss, reduction, denom):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total, dtype=loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.asarray(total / denom, dtype=loss.dtype)


def _grad_scale(xp, g, reduction, denom, valid):
    """d total / d loss_i per element: g, or g / denom for 'mean'; exactly 0 where ignored.

    With every target ignored, denom is 0 and g / denom is inf; masking by `valid` (rather than
    multiplying by the zero weights) keeps the gradient 0, as PyTorch's, with no host sync.
    """
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            g = g / denom
    return xp.where(valid, g, 0).astype(g.dtype, copy=False)


def _masked_loss(xp, loss, valid):
    # an ignored target may pick -inf (a masked logit): -inf * 0 would be NaN, PyTorch gives 0
    return xp.where(valid, loss, 0).astype(loss.dtype, copy=False)


class NllLoss(Op):
    @staticmethod
    def forward(ctx, x, t, w, ignore_index, reduction):
        xp = get_xp(x)
        valid, tt, coef = _targets(xp, x, t, w, ignore_index)
        picked = xp.take_along_axis(x, tt[:, None], axis=1)[:, 0]
        with np.errstate(invalid="ignore"):
            loss = _masked_loss(xp, -picked * coef, valid)
        denom = coef.sum()
        ctx.tt, ctx.valid, ctx.coef, ctx.denom = tt, valid, coef, denom
        ctx.reduction, ctx.shape = reduction, x.shape
        return _reduce(xp, loss, reduction, denom)

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        # -g, so that ignored targets get +0, not -0; where() leaves the NaN of a weight-0 target
        # with a zero denominator in its own column only, as PyTorch does
        with np.errstate(invalid="ignore"):
            scale = ctx.coef * _grad_scale(xp, -g, ctx.reduction, ctx.denom, ctx.valid)
        gx = xp.where(_onehot(xp, ctx.tt, ctx.shape[1], bool), scale[:, None], 0)
        return gx.astype(g.dtype, copy=False), None, None, None, None


def _use_fused(x, w) -> bool:
    """The GPU kernels of torchlite._cuda_kernels.cross_entropy take (N, C) float32 or float64
    CuPy logits, with class weights (if any) of the same dtype; anything else is unfused."""
    return (x.ndim == 2 and get_xp(x) is not np and x.dtype.str in ("<f4", "<f8")
            and (w is None or w.dtype == x.dtype))


def _kernels():
    from ..._cuda_kernels import cross_entropy

    return cross_entropy


class CrossEntropyIndex(Op):
    """log_softmax + nll (+ label smoothing) in one node; backward is softmax - onehot."""

    @staticmethod
    def forward(ctx, x, t, w, ignore_index, reduction, eps, plain=False):
        # plain: the caller found every target a counted class (see _check_targets), and there
        # are no class weights nor smoothing: the usual training batch. The loss then takes the
        # targets' log-probabilities by index, with no masks, weights or one-hot matrix.
        xp = get_xp(x)
        ctx.fused = None
        if _use_fused(x, w):  # one GPU kernel per row instead of a dozen elementwise launches
            kernels = _kernels()
            loss, stats, coef = kernels.cross_entropy_forward(
                x, t, w, ignore_index=ignore_index, label_smoothing=eps)
            denom = coef.sum()
            ctx.save_for_backward(x)
            ctx.fused = (t, w, stats, ignore_index, eps, reduction, denom)
            return _reduce(xp, loss, reduction, denom)
        c = x.shape[1]
        if plain:
            return _plain_forward(ctx, x, t, reduction)
        valid, tt, coef = _targets(xp, x, t, w, ignore_index)
        with np.errstate(invalid="ignore"):  # inf logits (a diverged model): NaN, as PyTorch
            logp = log_softmax_array(xp, x, 1)
            loss = -xp.take_along_axis(logp, tt[:, None], axis=1)[:, 0] * coef
            if eps > 0:
                wl = logp * w.reshape(_class_shape(x.ndim, c)) if w is not None else logp
                loss = (1.0 - eps) * loss - (eps / c) * wl.sum(axis=1)
            loss = _masked_loss(xp, loss, valid)
        denom = coef.sum()
        ctx.save_for_backward(logp)
        ctx.tt, ctx.valid, ctx.coef, ctx.denom = tt, valid, coef, denom
        ctx.w, ctx.reduction, ctx.eps, ctx.plain = w, reduction, eps, False
        return _reduce(xp, loss, reduction, denom)

    @staticmethod
    def backward(ctx, g):
        if ctx.fused is not None:
            (x,) = ctx.saved_tensors
            t, w, stats, ignore_index, eps, reduction, denom = ctx.fused
            gx = _kernels().cross_entropy_backward(
                x, t, stats, g, weight=w, ignore_index=ignore_index, label_smoothing=eps,
                reduction=reduction, denom=denom)
            return gx, None, None, None, None, None, None
        (logp,) = ctx.saved_tensors
        if ctx.plain:
            return _plain_backward(ctx, logp, g), None, None, None, None, None, None
        xp = get_xp(g)
        c = logp.shape[1]
        p = xp.exp(logp)
        s = _grad_scale(xp, g, ctx.reduction, ctx.denom, ctx.valid)  # 0 where ignored
        with np.errstate(invalid="ignore"):  # weight 0 on a counted target with denom 0: NaN
            a = (1.0 - ctx.eps) * ctx.coef * s  # weight of (p - onehot) per element
            gx = (p - _onehot(xp, ctx.tt, c, logp.dtype)) * a[:, None]
            if ctx.eps > 0:
                b = ((ctx.eps / c) * s)[:, None]
                if ctx.w is not None:
                    wsum = ctx.w.sum()
                    gx += b * (wsum * p - ctx.w.reshape(_class_shape(logp.ndim, c)))
                else:
                    gx += b * (c * p - 1.0)
        return gx.astype(logp.dtype, copy=False), None, None, None, None, None, None

    @staticmethod
    def graph_saved(ctx, saved):
        if ctx.fused is not None:
            raise NotImplementedError(
                "double backward of cross_entropy through the fused CUDA kernel is not "
                "supported; compute log_softmax and nll_loss separately to differentiate twice"
            )
        return _logp_of_input(ctx, saved)


def _plain_forward(ctx, x, t, reduction):
    """The general forward's numbers when every target counts with weight 1 (N, C logits; CPU):
    -log_softmax(x)[i, t_i], reduced over the N rows (the mean divides by N)."""
    rows = np.arange(x.shape[0])
    with np.errstate(invalid="ignore"):  # inf logits (a diverged model): NaN, as PyTorch
        logp = log_softmax_array(np, x, 1)
        loss = -logp[rows, t]
    denom = x.dtype.type(x.shape[0])
    ctx.save_for_backward(logp)
    ctx.tt, ctx.rows, ctx.denom, ctx.reduction, ctx.plain = t, rows, denom, reduction, True
    return _reduce(np, loss, reduction, denom)


def _plain_backward(ctx, logp, g):
    """softmax - onehot, times d total / d loss_i: the general backward with every weight 1."""
    if ctx.reduction == "mean":
        scale = g / ctx.denom
    else:
        scale = g if ctx.reduction == "sum" else g[:, None]
    xp = get_xp(g)
    if xp is not np:  # a graph-building pass (DArrays): no in-place writes, same numbers
        return (xp.exp(logp) - _onehot(np, ctx.tt, logp.shape[1], logp.dtype)) * scale
    gx = np.exp(logp)
    gx[ctx.rows, ctx.tt] -= 1
    with np.errstate(invalid="ignore"):  # inf * 0 from a diverged model: NaN, as PyTorch
        gx *= scale
    return gx


def _logp_of_input(ctx, saved):
    """The saved log_softmax(x) as the output of a LogSoftmax node on x (graph path)."""
    from ...autograd.darray import DArray, raw
    from ...autograd.graph_backward import hang
    from ...ops.softmax import LogSoftmax

    edge = ctx.next_edges[0]
    if edge is None:
        return saved
    (t,) = hang(LogSoftmax, (edge, None), (raw(saved[0]),), axis=1)
    return (DArray(t),) + tuple(saved[1:])


class CrossEntropyProb(Op):
    """Cross entropy against class probabilities (soft targets); differentiable in both."""

    @staticmethod
    def forward(ctx, x, t, w, reduction, eps):
        xp = get_xp(x)
        c = x.shape[1]
        target = t
        if eps > 0:
            t = t * (1.0 - eps) + eps / c
        wv = w.reshape(_class_shape(x.ndim, c)) if w is not None else None
        wt = t * wv if wv is not None else t
        with np.errstate(invalid="ignore"):  # inf logits, -inf * 0: NaN, as PyTorch
            logp = log_softmax_array(xp, x, 1)
            loss = -(logp * wt).sum(axis=1)
        denom = x.size // c if c else 0
        ctx.save_for_backward(logp, target)
        ctx.wv, ctx.reduction, ctx.denom, ctx.eps = wv, reduction, denom, eps
        return _reduce(xp, loss, reduction, float(denom))

    @staticmethod
    def backward(ctx, g):
        logp, t = ctx.saved_tensors
        xp = get_xp(g)
        c = logp.shape[1]
        if ctx.eps > 0:  # the weighted targets again, from the saved target
            t = t * (1.0 - ctx.eps) + ctx.eps / c
        wt = t * ctx.wv if ctx.wv is not None else t
        s = g
        if ctx.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):  # an empty batch: 0/0, NaN
                s = g / float(ctx.denom)
        s = xp.asarray(s)[:, None] if ctx.reduction == "none" else s
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = (xp.exp(logp) * wt.sum(axis=1, keepdims=True) - wt) * s
            gx = gx.astype(logp.dtype, copy=False)
        if ctx.needs_input_grad[1]:
            lw = logp * ctx.wv if ctx.wv is not None else logp
            gt = (-(1.0 - ctx.eps) * lw * s).astype(logp.dtype, copy=False)
        return gx, gt, None, None, None

    graph_saved = staticmethod(_logp_of_input)


def _f32(op, x: Tensor):
    """float16/bfloat16 NumPy logits: the loss in float32, as PyTorch (see half_compute)."""
    return in_float32(op) if is_half_numpy(x._data) else op


def _batchify(input: Tensor, target: Tensor, fn: str, prob: bool):
    """Check shapes; give unbatched inputs a batch dim. Returns (x, t, unbatched)."""
    if input.dim() == 0:
        raise ValueError(f"{fn}: input must have at least 1 dimension (the classes)")
    if input.dim() == 1:
        want = tuple(input.shape) if prob else ()
        if tuple(target.shape) != want:
            raise ValueError(
                f"{fn}: for an unbatched input of shape {tuple(input.shape)} expected a target of "
                f"shape {want}, got {tuple(target.shape)}"
            )
        return input.reshape(1, -1), target.reshape((1,) + want), True
    if prob:
        return input, target, False
    if input.shape[0] != (target.shape[0] if target.dim() else -1):
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.dim() else 0})."
        )
    want = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != want:
        raise RuntimeError(f"Expected target size {list(want)}, got {list(target.shape)}")
    return input, target, False


def _same_device(input: Tensor, other: Tensor | None, fn: str, name: str) -> None:
    """The target and weight go to the Ops as raw arrays: check their device here."""
    if other is not None and other._device is not input._device:
        raise RuntimeError(
            f"{fn}: expected all tensors to be on the same device, but found at least two "
            f"devices, {input._device} (input) and {other._device} ({name})"
        )


def _check_targets(t, c: int, ignore_index: int) -> bool:
    """Refuse non-integer targets and (CPU only) out-of-range ones. Returns whether every target
    is known to be a class index that counts: on the CPU, in range with none equal to
    `ignore_index`, which lets the loss skip its masking (CrossEntropyIndex's `plain`)."""
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"expected scalar type Long but found {np.dtype(t.dtype).name} (class-index targets "
            "must be integers)"
        )
    if get_xp(t) is not np or not t.size:  # a device check would stall the GPU; CPU only
        return False
    if t.min() >= 0 and t.max() < c:  # the usual batch: two reductions decide it
        return not 0 <= ignore_index < c or not (t == ignore_index).any()
    bad = t[(t != ignore_index) & ((t < 0) | (t >= c))]
    if bad.size:
        raise IndexError(f"Target {int(bad[0])} is out of bounds.")
    return False


def _weight_array(weight, c: int, fn: str):
    if weight is None:
        return None
    if weight.dim() != 1 or weight.shape[0] != c:
        raise RuntimeError(
            f"{fn}: weight tensor should be defined either for all {c} classes or no classes but "
            f"got weight tensor of shape: {list(weight.shape)}"
        )
    return weight._data


@_amp.op("nll_loss")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of log-probabilities `input` at class indices `target`."""
    check_tensor(input, "nll_loss")
    check_tensor(target, "nll_loss", "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _same_device(input, target, "nll_loss", "target")
    _same_device(input, weight, "nll_loss", "weight")
    x, t, unbatched = _batchify(input, target, "nll_loss", prob=False)
    _check_targets(t._data, x.shape[1], ignore_index)
    w = _weight_array(weight, x.shape[1], "nll_loss")
    out = _f32(NllLoss, x).apply(x, t._data, w, int(ignore_index), reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


@_amp.op("cross_entropy")
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits `input` against class indices or class probabilities.

    Numerically stable (log-sum-exp); logits of 1e4 give finite losses and gradients.
    Out-of-range class indices raise IndexError on the CPU; on the GPU they are not checked (the
    check would stall the device). Integer targets of any width are accepted (PyTorch wants
    int64). `weight` takes no gradient.
    """
    check_tensor(input, "cross_entropy")
    check_tensor(target, "cross_entropy", "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(f"cross_entropy: expected floating-point logits, got {input.dtype}")
    _same_device(input, target, "cross_entropy", "target")
    _same_device(input, weight, "cross_entropy", "weight")
    prob = tuple(input.shape) == tuple(target.shape)
    x, t, unbatched = _batchify(input, target, "cross_entropy", prob)
    c = x.shape[1]
    w = _weight_array(weight, c, "cross_entropy")
    eps = float(label_smoothing)
    if prob:
        if t._data.dtype.kind not in "fV":
            raise RuntimeError(
                f"Expected floating point type for target with class probabilities, got {t.dtype}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        out = _f32(CrossEntropyProb, x).apply(x, t, w, reduction, eps)
    else:
        plain = _check_targets(t._data, c, ignore_index) and w is None and eps == 0.0 \
            and x._data.ndim == 2
        out = _f32(CrossEntropyIndex, x).apply(x, t._data, w, int(ignore_index), reduction, eps,
                                               plain)
    return out.reshape(()) if unbatched and reduction == "none" else out
