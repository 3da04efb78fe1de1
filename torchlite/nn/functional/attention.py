"""Attention: scaled_dot_product_attention and multi_head_attention_forward.

The core is one fused Op: scores = q k^T * scale + bias, a stable softmax, optional dropout of the
weights, and the weighted sum of v, with the closed-form backward (no graph of a dozen small
ops). Masks become one additive float bias: a boolean mask contributes -inf where attention is
not allowed (for scaled_dot_product_attention True means *attend*; for multi-head attention's
attn_mask and key_padding_mask True means *masked*, as in PyTorch).

A query row whose keys are all masked (every score -inf) attends to nothing: as in PyTorch 2.13,
scaled_dot_product_attention gives it output 0 and gradient 0 (a "safe" softmax), while
multi-head attention gives NaN where PyTorch computes the weights with a plain softmax
(need_weights=True, and its inference fast path; see `_mha_nan_rows`).
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...amp import state as _amp
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.broadcast import unbroadcast
from ...ops.half_compute import in_float32, is_half_numpy
from ...random import _rng
from ...tensor import Tensor


def _lowest(dtype):
    return _LOWEST.get(dtype) or _LOWEST.setdefault(dtype, dtype.type(np.finfo(dtype).min))


_LOWEST: dict = {}


class SDPAOp(Op):
    """forward(q (..., L, E), k (..., S, E), v (..., S, Ev), bias or None, keep or None, scale,
    p, safe) -> (out (..., L, Ev), weights (..., L, S)); keep is the dropout keep-mask. With
    `safe`, a row whose scores are all -inf gets weights 0 (else NaN)."""

    @staticmethod
    def forward(ctx, q, k, v, bias, keep, scale, p, safe=True):
        # fully masked rows (-inf - -inf) without `safe` and a diverging model (overflow) give
        # NaN/inf, as in PyTorch, without NumPy warnings
        with np.errstate(over="ignore", invalid="ignore"):
            return SDPAOp._forward(ctx, q, k, v, bias, keep, scale, p, safe)

    @staticmethod
    def _forward(ctx, q, k, v, bias, keep, scale, p, safe):
        xp = get_xp(q)
        s = xp.matmul(q, xp.swapaxes(k, -1, -2))
        s *= q.dtype.type(scale)
        if bias is not None:
            s = s + bias
        if s.shape[-1]:  # (no keys at all: the weights are empty and the output 0)
            m = s.max(axis=-1, keepdims=True)
            if safe:  # an all -inf row: exp(-inf - lowest) = 0 everywhere instead of NaN
                xp.maximum(m, _lowest(s.dtype), out=m)
            s -= m
        xp.exp(s, out=s)
        d = s.sum(axis=-1, keepdims=True)
        if safe:  # 0 / 1 = 0 for those rows; every other row sums to >= 1 (its max gives 1)
            xp.maximum(d, 1, out=d)
        s /= d
        w = s
        if keep is not None:
            w = s * keep
            w *= q.dtype.type(1.0 / (1.0 - p)) if p < 1 else 0
        ctx.scale, ctx.p = scale, p
        ctx.set_materialize_grads(False)  # the weights output usually gets no gradient
        ctx.save_for_backward(q, k, v, s, w, keep, bias)
        return xp.matmul(w, v), w

    @staticmethod
    def backward(ctx, g_out, g_w):
        with np.errstate(over="ignore", invalid="ignore"):
            return SDPAOp._backward(ctx, g_out, g_w)

    @staticmethod
    def _backward(ctx, g_out, g_w):
        q, k, v, prob, w, keep, bias = ctx.saved_tensors
        xp = get_xp(q)
        n = ctx.needs_input_grad
        if g_out is None:  # only the returned weights were used
            g_out = xp.zeros(w.shape[:-1] + v.shape[-1:], dtype=w.dtype)
        dw = xp.matmul(g_out, xp.swapaxes(v, -1, -2))
        if g_w is not None:
            dw += g_w
        gv = unbroadcast(xp.matmul(xp.swapaxes(w, -1, -2), g_out), v.shape) if n[2] else None
        if keep is not None:
            dw *= keep
            dw *= q.dtype.type(1.0 / (1.0 - ctx.p)) if ctx.p < 1 else 0
        ds = prob * (dw - (dw * prob).sum(axis=-1, keepdims=True))
        gb = unbroadcast(ds, bias.shape, bias.dtype) if n[3] else None
        sc = q.dtype.type(ctx.scale)
        gq = unbroadcast(xp.matmul(ds, k) * sc, q.shape) if n[0] else None
        gk = unbroadcast(xp.matmul(xp.swapaxes(ds, -1, -2), q) * sc, k.shape) if n[1] else None
        return gq, gk, gv, gb, None, None, None, None


def _neg_inf_where(m, masked_value: bool, dtype, like: Tensor) -> Tensor:
    """A boolean mask array as an additive float bias: -inf where m == masked_value, else 0."""
    xp = get_xp(like._data)
    if get_xp(m) is not xp:  # a raw array: the Op cannot check its device
        raise RuntimeError(f"attention: expected the mask on {like._device} like the query, "
                           f"got it on {backend.array_device(m)}")
    arr = xp.where(m if masked_value else ~m, -np.inf, 0.0).astype(dtype)
    return Tensor._make(arr, like._device)


def _keep_mask(shape, p, like: Tensor):
    keep = _rng(None).random(shape, dtype=np.float32) >= p
    return backend.move(keep.astype(like._data.dtype), like._device)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale=None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v, as torch.nn.functional.scaled_dot_product_attention.

    Shape: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). attn_mask
    broadcasts to (..., L, S): boolean (True = attend) or float (added to the scores).
    is_causal masks key j > query i. scale defaults to 1/sqrt(E). dropout_p drops attention
    weights (always applied when > 0, as in PyTorch's functional form). A query whose keys are
    all masked (or with no keys, S = 0) gets output 0 and gradient 0, as in PyTorch 2.13.
    """
    if _amp.on:
        query, key, value, attn_mask = _amp.cast("scaled_dot_product_attention", query, key,
                                                 value, attn_mask)
    out, _ = _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                   "scaled_dot_product_attention")
    return out


def _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, op):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"{op}: {name} must have at least 2 dims, got {tuple(t.shape)}")
    if enable_gqa:
        key, value = _share_kv_heads(query, key, value, op)
    L, E = query.shape[-2:]
    S = key.shape[-2]
    if key.shape[-1] != E or value.shape[-2] != S:
        raise RuntimeError(f"{op}: shapes query {tuple(query.shape)}, key {tuple(key.shape)} and "
                           f"value {tuple(value.shape)} do not fit (..., L, E), (..., S, E), "
                           "(..., S, Ev)")
    lead = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    query, key, value = (t if tuple(t.shape[:-2]) == lead else t.expand(*lead, *t.shape[-2:])
                         for t in (query, key, value))
    dt = query._data.dtype
    bias = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{op}: explicit attn_mask should not be set when is_causal=True")
        xp = get_xp(query._data)
        bias = _neg_inf_where(xp.tril(xp.ones((L, S), dtype=bool)), False, dt, query)
    elif attn_mask is not None:
        if attn_mask.dtype == backend.bool_:
            bias = _neg_inf_where(attn_mask._data, False, dt, query)
        else:
            bias = attn_mask
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    p = float(dropout_p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, got {p}")
    keep = _keep_mask(tuple(lead) + (L, S), p, query) if p > 0 else None
    op = in_float32(SDPAOp) if is_half_numpy(query._data) else SDPAOp  # see half_compute
    return op.apply(query, key, value, bias, keep, scale, p, True)


def _share_kv_heads(query, key, value, op):
    """Grouped-query attention: each key/value head serves query.shape[-3] // its heads
    consecutive query heads (its repeats along the head dim, as PyTorch's enable_gqa)."""
    if query.ndim < 3:
        return key, value
    hq = query.shape[-3]
    out = []
    for name, t in (("key", key), ("value", value)):
        h = t.shape[-3] if t.ndim >= 3 else 1
        if hq % h:
            raise RuntimeError(f"{op}: with enable_gqa the number of heads in {name} ({h}) must "
                               f"divide the number of heads in query ({hq})")
        out.append(t.repeat_interleave(hq // h, dim=-3) if h != hq else t)
    return out[0], out[1]


def _merge_masks(attn_mask, key_padding_mask, N, H, L, S, like):
    """attn_mask ((L, S) or (N*H, L, S)) and key_padding_mask ((N, S)), bool (True = masked) or
    float (added), as one additive bias broadcastable to (N, H, L, S)."""
    dt = like._data.dtype
    bias = None
    if attn_mask is not None:
        if attn_mask.dtype == backend.bool_:
            attn_mask = _neg_inf_where(attn_mask._data, True, dt, like)
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(L, S)}.")
            bias = attn_mask.reshape(1, 1, L, S)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (N * H, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(N * H, L, S)}.")
            bias = attn_mask.reshape(N, H, L, S)
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (N, S):
            raise RuntimeError(f"expected key_padding_mask of shape {(N, S)}, got "
                               f"{tuple(key_padding_mask.shape)}")
        if key_padding_mask.dtype == backend.bool_:
            key_padding_mask = _neg_inf_where(key_padding_mask._data, True, dt, like)
        kpm = key_padding_mask.reshape(N, 1, 1, S)
        bias = kpm if bias is None else bias + kpm
    return bias


def multi_head_attention_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                                 out_proj_weight, out_proj_bias, dropout_p=0.0, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 average_attn_weights=True, is_causal=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None):
    """Multi-head attention on (L, N, E) query and (S, N, kdim/vdim) key/value (sequence first),
    as torch.nn.functional.multi_head_attention_forward without bias_k/bias_v/zero_attn.

    Returns (attn_output (L, N, E), weights (N, L, S) averaged over heads or (N, H, L, S), or
    None when need_weights is False). A query whose keys are all masked gets NaN with
    need_weights=True (PyTorch's plain softmax) and 0 without (PyTorch's
    scaled_dot_product_attention).
    """
    return _mha_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                        out_proj_weight, out_proj_bias, dropout_p, training, key_padding_mask,
                        need_weights, attn_mask, average_attn_weights, is_causal, q_proj_weight,
                        k_proj_weight, v_proj_weight, nan_rows=need_weights)


def _mha_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias, out_proj_weight,
                 out_proj_bias, dropout_p, training, key_padding_mask, need_weights, attn_mask,
                 average_attn_weights, is_causal, q_proj_weight, k_proj_weight, v_proj_weight,
                 nan_rows: bool):
    from ...ops.linalg import matmul

    L, N, E = query.shape
    S = key.shape[0]
    H = num_heads
    hd = E // H
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")

    def proj(x, w, b):
        n, m = x.shape[0], x.shape[1]
        y = matmul(x.reshape(n * m, x.shape[2]), w.t())
        if b is not None:  # (under autocast the product is in the low dtype: so is the bias)
            y = y + (b if b.dtype == y.dtype else b.to(y.dtype))
        return y.reshape(n, m, H, hd).permute(1, 2, 0, 3)  # (N, H, n, hd)

    if q_proj_weight is None:
        wq, wk, wv = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]
    else:
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:]
    q, k, v = proj(query, wq, bq), proj(key, wk, bk), proj(value, wv, bv)
    bias = _merge_masks(attn_mask, key_padding_mask, N, H, L, S, query)
    p = float(dropout_p) if training else 0.0
    keep = _keep_mask((N, H, L, S), p, query) if p > 0 else None
    op = in_float32(SDPAOp) if is_half_numpy(q._data) else SDPAOp
    out, w = op.apply(q, k, v, bias, keep, 1.0 / math.sqrt(hd), p, not nan_rows)
    out = out.permute(2, 0, 1, 3).reshape(L * N, E)  # (L, N, H, hd) -> (L*N, E)
    out = matmul(out, out_proj_weight.t())
    if out_proj_bias is not None:
        b = out_proj_bias
        out = out + (b if b.dtype == out.dtype else b.to(out.dtype))
    out = out.reshape(L, N, E)
    if not need_weights:
        return out, None
    if average_attn_weights:
        w = w.sum(dim=1) * (1.0 / H)
    return out, w


def _mha_nan_rows(module, query, key, value, key_padding_mask, need_weights, attn_mask) -> bool:
    """Whether nn.MultiheadAttention gives NaN (not 0) for a query whose keys are all masked.

    PyTorch computes multi-head attention one of three ways, which differ only there: the
    weights by a plain softmax when need_weights=True (NaN), scaled_dot_product_attention when
    need_weights=False (0), and a fused inference kernel (NaN) when its fast-path conditions hold:
    eval mode, batched self-attention (query is key is value) with batch_first, an even number
    of heads, packed in_proj weights with biases, boolean (or no) masks, and no gradient needed.
    """
    if need_weights:
        return True
    if module.training or query.ndim != 3 or not (query is key and key is value):
        return False
    if not module.batch_first or module.num_heads % 2 or not module._qkv_same_embed_dim:
        return False
    if module.in_proj_bias is None or module.out_proj.bias is None:
        return False
    from ...backends import mha

    if not mha.get_fastpath_enabled():
        return False
    for m in (attn_mask, key_padding_mask):
        if m is not None and m.dtype.is_floating_point:
            return False
    from ...autograd.grad_mode import is_grad_enabled

    tensors = (query, module.in_proj_weight, module.in_proj_bias, module.out_proj.weight,
               module.out_proj.bias)
    return not (is_grad_enabled() and any(t.requires_grad for t in tensors))
