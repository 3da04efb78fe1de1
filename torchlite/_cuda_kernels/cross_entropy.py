"""Log-softmax + NLL in one kernel per direction, for logits (N, C) and class-index targets (N,).

Forward: one block per row reduces the row's max m and log(sum(exp(x - m))) = log_s, then
writes the row's loss and, for the backward, (m, log_s) instead of the (N, C) log-probabilities
(log p_c = (x_c - m) - log_s is recomputed from the logits). Backward: p - onehot, scaled, with
label smoothing and class weights, in one pass over the logits.

The arithmetic is CrossEntropyIndex's (torchlite/nn/functional/cross_entropy.py): ignored targets
(ignore_index) give loss 0 and gradient 0 and leave the 'mean' denominator, which is the sum of
the targets' weights (their count without weights), `coef.sum()`; label smoothing mixes
(1 - eps) * nll with -(eps / C) * sum_c w_c log p_c. The per-row losses are reduced by the caller
('sum': loss.sum(); 'mean': loss.sum() / coef.sum(), as `_reduce` there does). A target outside
[0, C) other than ignore_index is not checked on the device (that would stall it): its row's
loss is NaN and its gradient row 0.
"""

from __future__ import annotations

import numpy as np

from . import _common

__all__ = ["cross_entropy_backward", "cross_entropy_backward_reference",
           "cross_entropy_forward", "cross_entropy_forward_reference"]

MAX_THREADS = 256

_REDUCE = r"""
// tree reduction of one value per thread over the block (blockDim.x a power of two <= 256)
__device__ __forceinline__ T tl_block_sum(T v, T* red) {
    const int tid = threadIdx.x;
    red[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] = red[tid] + red[tid + s];
        __syncthreads();
    }
    T out = red[0];
    __syncthreads();
    return out;
}

__device__ __forceinline__ T tl_block_max(T v, T* red) {  // NaN wins, as NumPy's max
    const int tid = threadIdx.x;
    red[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            T a = red[tid], o = red[tid + s];
            red[tid] = (o > a || o != o) ? o : a;
        }
        __syncthreads();
    }
    T out = red[0];
    __syncthreads();
    return out;
}
"""

# flags
HAS_WEIGHT, SMOOTHING, PER_ROW, MEAN = 1, 2, 4, 8

FORWARD_PARAMS = ("x", "target", "weight", "loss", "stats", "coef_out", "n_rows", "C",
                  "ignore_index", "one_minus_eps", "eps_over_c", "flags")
FORWARD_SOURCE = _REDUCE + r"""
extern "C" __global__ void tl_ce_forward(
    const T* __restrict__ x, const long long* __restrict__ target, const T* __restrict__ weight,
    T* __restrict__ loss, T* __restrict__ stats, T* __restrict__ coef_out,
    const int n_rows, const int C, const long long ignore_index, const T one_minus_eps,
    const T eps_over_c, const int flags)
{
    __shared__ T red[256];
    const int row = blockIdx.x;
    if (row >= n_rows) return;
    const T* xr = x + (long long)row * C;
    T m = xr[0];
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        T v = xr[c];
        m = (v > m || v != v) ? v : m;
    }
    m = tl_block_max(m, red);
    T acc = (T)0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) acc = acc + exp(xr[c] - m);
    const T log_s = log(tl_block_sum(acc, red));
    T smooth = (T)0;
    if (flags & 2) {
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            T lp = (xr[c] - m) - log_s;
            smooth = smooth + ((flags & 1) ? lp * weight[c] : lp);
        }
        smooth = tl_block_sum(smooth, red);
    }
    if (threadIdx.x != 0) return;
    const long long t = target[row];
    const bool valid = t != ignore_index;
    const long long tt = valid ? t : 0;
    const bool in_range = tt >= 0 && tt < C;
    const T coef = valid ? (((flags & 1) && in_range) ? weight[tt] : (T)1) : (T)0;
    T l;
    if (!in_range) {
        l = nan("");
    } else {
        T nll = -((xr[tt] - m) - log_s) * coef;
        l = (flags & 2) ? one_minus_eps * nll - eps_over_c * smooth : nll;
    }
    loss[row] = valid ? l : (T)0;
    stats[2 * (long long)row] = m;              // 2 * row overflows int from 2^30 rows
    stats[2 * (long long)row + 1] = log_s;
    coef_out[row] = coef;
}
"""

BACKWARD_PARAMS = ("x", "target", "weight", "stats", "g", "denom", "wsum", "gx", "n_rows", "C",
                   "ignore_index", "one_minus_eps", "eps_over_c", "c_float", "flags")
BACKWARD_SOURCE = r"""
extern "C" __global__ void tl_ce_backward(
    const T* __restrict__ x, const long long* __restrict__ target, const T* __restrict__ weight,
    const T* __restrict__ stats, const T* __restrict__ g, const T* __restrict__ denom,
    const T* __restrict__ wsum, T* __restrict__ gx, const int n_rows, const int C,
    const long long ignore_index, const T one_minus_eps, const T eps_over_c, const T c_float,
    const int flags)
{
    const int row = blockIdx.x;
    if (row >= n_rows) return;
    const long long t = target[row];
    const bool valid = t != ignore_index;
    const long long tt = valid ? t : 0;
    const bool in_range = tt >= 0 && tt < C;
    const T coef = valid ? (((flags & 1) && in_range) ? weight[tt] : (T)1) : (T)0;
    T s = (flags & 4) ? g[row] : g[0];
    if (flags & 8) s = s / denom[0];
    s = (valid && in_range) ? s : (T)0;
    const T a = (one_minus_eps * coef) * s;
    const T b = eps_over_c * s;
    const T m = stats[2 * (long long)row];
    const T log_s = stats[2 * (long long)row + 1];
    const T* xr = x + (long long)row * C;
    T* gr = gx + (long long)row * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const T p = exp((xr[c] - m) - log_s);
        T v = (p - (T)(c == tt)) * a;
        if (flags & 2) {
            v = v + ((flags & 1) ? b * (wsum[0] * p - weight[c]) : b * (c_float * p - (T)1));
        }
        gr[c] = v;
    }
}
"""


def raw_source(src: str, dtype) -> str:
    """The source a RawKernel of this module compiles for `dtype` (FORWARD_ or BACKWARD_SOURCE)."""
    return f"#define T {_common.ctype(dtype)}\n" + src


def _raw(name: str, src: str, dtype):
    key = (name, np.dtype(dtype).str)
    return _common.kernel(key, lambda cp: cp.RawKernel(raw_source(src, dtype), name,
                                                       options=_common.EXACT))


def _threads(c: int) -> int:
    n = 32
    while n < min(c, MAX_THREADS):
        n *= 2
    return n


def _prepare(cp, name: str, x, target, weight):
    if x.ndim != 2 or target.shape != (x.shape[0],):
        raise ValueError(f"{name}: expected logits (N, C) and targets (N,), got {x.shape} and "
                         f"{target.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"{name}: no classes (logits of shape {x.shape})")
    if target.dtype.kind not in "iu":
        raise ValueError(f"{name}: class-index targets must be integers, got {target.dtype}")
    _common.ctype(x.dtype)
    _common.check_int32(name, N=x.shape[0], C=x.shape[1])  # an int each, and N the grid
    x = cp.ascontiguousarray(x)
    target = cp.ascontiguousarray(target.astype(cp.int64, copy=False))
    if weight is not None:
        if weight.shape != (x.shape[1],) or weight.dtype != x.dtype:
            raise ValueError(f"{name}: weight must have shape ({x.shape[1]},) and dtype "
                             f"{x.dtype}, got {weight.shape} {weight.dtype}")
        weight = cp.ascontiguousarray(weight)
    return x, target, weight


def _scalars(dtype, c: int, label_smoothing: float):
    T = np.dtype(dtype).type
    return T(1.0 - label_smoothing), T(label_smoothing / c)


def cross_entropy_forward(x, target, weight=None, *, ignore_index: int = -100,
                          label_smoothing: float = 0.0):
    """Per-row cross entropy of cupy logits `x` (N, C) at class indices `target` (N,).

    Returns (loss (N,), stats (N, 2) = (max, log-sum-exp of x - max) per row for the backward,
    coef (N,) = each target's weight, 0 where ignored: the 'mean' denominator is coef.sum()).
    """
    cp = _common.cupy()
    x, target, weight = _prepare(cp, "cross_entropy_forward", x, target, weight)
    n, c = x.shape
    loss = cp.empty(n, dtype=x.dtype)
    stats = cp.empty((n, 2), dtype=x.dtype)
    coef = cp.empty(n, dtype=x.dtype)
    if n == 0:
        return loss, stats, coef
    one_minus_eps, eps_over_c = _scalars(x.dtype, c, label_smoothing)
    flags = (HAS_WEIGHT if weight is not None else 0) | (SMOOTHING if label_smoothing > 0 else 0)
    args = dict(x=x, target=target, weight=weight if weight is not None else x, loss=loss,
                stats=stats, coef_out=coef, n_rows=np.int32(n), C=np.int32(c),
                ignore_index=np.int64(ignore_index), one_minus_eps=one_minus_eps,
                eps_over_c=eps_over_c, flags=np.int32(flags))
    _raw("tl_ce_forward", FORWARD_SOURCE, x.dtype)(
        (n,), (_threads(c),), tuple(args[k] for k in FORWARD_PARAMS))
    return loss, stats, coef


def cross_entropy_backward(x, target, stats, g, *, weight=None, ignore_index: int = -100,
                           label_smoothing: float = 0.0, reduction: str = "mean", denom=None):
    """The gradient (N, C) of the reduced loss with respect to the logits.

    `g` is the incoming gradient as a cupy array: 0-d for 'mean' and 'sum', (N,) for 'none';
    `denom` (0-d, `coef.sum()` from the forward) is required for 'mean'. Nothing is read back
    to the host.
    """
    cp = _common.cupy()
    x, target, weight = _prepare(cp, "cross_entropy_backward", x, target, weight)
    n, c = x.shape
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if reduction == "mean" and denom is None:
        raise ValueError("cross_entropy_backward: 'mean' needs denom (coef.sum())")
    gx = cp.empty_like(x)
    if n == 0:
        return gx
    g = cp.ascontiguousarray(cp.asarray(g, dtype=x.dtype))
    # the kernel reads g[row] ('none') or g[0], stats[2 * row + 1] and denom[0]
    if g.size != (n if reduction == "none" else 1):
        raise ValueError(f"cross_entropy_backward: the gradient of a '{reduction}' loss over "
                         f"{n} rows cannot have shape {g.shape}")
    if stats.shape != (n, 2) or stats.dtype != x.dtype:
        raise ValueError(f"cross_entropy_backward: stats must be ({n}, 2) {x.dtype}, got "
                         f"{stats.shape} {stats.dtype}")
    if reduction == "mean" and getattr(denom, "size", 1) != 1:
        raise ValueError(f"cross_entropy_backward: denom must be one number, got shape "
                         f"{denom.shape}")
    one_minus_eps, eps_over_c = _scalars(x.dtype, c, label_smoothing)
    flags = (HAS_WEIGHT if weight is not None else 0) | \
        (SMOOTHING if label_smoothing > 0 else 0) | \
        (PER_ROW if reduction == "none" else 0) | (MEAN if reduction == "mean" else 0)
    dummy = g
    args = dict(x=x, target=target, weight=weight if weight is not None else dummy,
                stats=cp.ascontiguousarray(stats), g=g,
                denom=cp.asarray(denom, dtype=x.dtype) if denom is not None else dummy,
                wsum=weight.sum() if weight is not None and label_smoothing > 0 else dummy,
                gx=gx, n_rows=np.int32(n), C=np.int32(c), ignore_index=np.int64(ignore_index),
                one_minus_eps=one_minus_eps, eps_over_c=eps_over_c,
                c_float=x.dtype.type(c), flags=np.int32(flags))
    _raw("tl_ce_backward", BACKWARD_SOURCE, x.dtype)(
        (n,), (_threads(c),), tuple(args[k] for k in BACKWARD_PARAMS))
    return gx


# -- NumPy references --------------------------------------------------------------------------


def _targets_reference(x, target, weight, ignore_index):
    c = x.shape[1]
    valid = target != ignore_index
    tt = np.where(valid, target, 0)
    in_range = (tt >= 0) & (tt < c)
    tt = np.where(in_range, tt, 0)
    coef = valid.astype(x.dtype)
    if weight is not None:  # as the kernels: 0 where ignored, 1 for a target out of range
        coef = np.where(valid, np.where(in_range, weight[tt], x.dtype.type(1)),
                        x.dtype.type(0)).astype(x.dtype, copy=False)
    return valid, in_range, tt, coef


def cross_entropy_forward_reference(x, target, weight=None, *, ignore_index: int = -100,
                                    label_smoothing: float = 0.0):
    """`cross_entropy_forward` in NumPy (row reductions in NumPy's summation order)."""
    n, c = x.shape
    valid, in_range, tt, coef = _targets_reference(x, target, weight, ignore_index)
    one_minus_eps, eps_over_c = _scalars(x.dtype, c, label_smoothing)
    with np.errstate(invalid="ignore", over="ignore"):
        m = x.max(axis=1, keepdims=True) if n else np.zeros((0, 1), x.dtype)
        shifted = x - m
        log_s = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        logp = shifted - log_s
        loss = -np.take_along_axis(logp, tt[:, None], axis=1)[:, 0] * coef
        if label_smoothing > 0:
            wl = logp * weight if weight is not None else logp
            loss = one_minus_eps * loss - eps_over_c * wl.sum(axis=1)
        loss = np.where(in_range, loss, x.dtype.type(np.nan))
        loss = np.where(valid, loss, 0).astype(x.dtype, copy=False)
    stats = np.concatenate([m, log_s], axis=1)
    return loss, stats, coef


def cross_entropy_backward_reference(x, target, stats, g, *, weight=None,
                                     ignore_index: int = -100, label_smoothing: float = 0.0,
                                     reduction: str = "mean", denom=None):
    """`cross_entropy_backward` in NumPy."""
    n, c = x.shape
    valid, in_range, tt, coef = _targets_reference(x, target, weight, ignore_index)
    one_minus_eps, eps_over_c = _scalars(x.dtype, c, label_smoothing)
    g = np.asarray(g, dtype=x.dtype)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        s = g / np.asarray(denom, dtype=x.dtype) if reduction == "mean" else g
        s = np.where(valid & in_range, s, 0).astype(x.dtype, copy=False)
        a = (one_minus_eps * coef) * s
        b = eps_over_c * s
        p = np.exp((x - stats[:, :1]) - stats[:, 1:])
        onehot = (np.arange(c)[None, :] == tt[:, None]).astype(x.dtype)
        gx = (p - onehot) * a[:, None]
        if label_smoothing > 0:
            if weight is not None:
                gx = gx + b[:, None] * (weight.sum() * p - weight[None, :])
            else:
                gx = gx + b[:, None] * (x.dtype.type(c) * p - x.dtype.type(1))
    return gx.astype(x.dtype, copy=False)
