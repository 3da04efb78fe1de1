"""MultiheadAttention (Vaswani et al., 2017) with PyTorch's parameters and arguments."""

from __future__ import annotations

from ...tensor import Tensor
from .. import init
from ..functional.attention import _mha_forward, _mha_nan_rows
from ..module import Module
from ._factory import param
from .linear import Linear

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention: softmax(q k^T / sqrt(head_dim) + mask) v per head, then out_proj.

    Shape: query (L, N, E) (batch_first: (N, L, E); unbatched: (L, E)), key (S, N, kdim), value
    (S, N, vdim) -> attn_output (L, N, E) and, with need_weights, attention weights (N, L, S)
    averaged over heads (or (N, num_heads, L, S)). key_padding_mask (N, S) and attn_mask
    ((L, S) or (N*num_heads, L, S)) are boolean (True = not allowed) or float (added).

    Parameters as PyTorch: in_proj_weight (3E, E) and in_proj_bias (3E,) when kdim == vdim == E,
    else q_proj_weight, k_proj_weight, v_proj_weight; out_proj (a Linear(E, E)). add_bias_kv
    and add_zero_attn are not supported. A query whose keys are all masked gets NaN or 0
    exactly where PyTorch's does (NaN with need_weights=True and on PyTorch's inference fast
    path; 0 otherwise).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not "
                                      "supported by torchlite")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = param((3 * embed_dim, embed_dim), device, dtype)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = param((embed_dim, embed_dim), device, dtype)
            self.k_proj_weight = param((embed_dim, self.kdim), device, dtype)
            self.v_proj_weight = param((embed_dim, self.vdim), device, dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = param((3 * embed_dim,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        # (decided on the arguments as given, before any reshaping: see _mha_nan_rows)
        nan_rows = _mha_nan_rows(self, query, key, value, key_padding_mask, need_weights,
                                 attn_mask)
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"query, key and value must all be 2-D (unbatched) or 3-D "
                                 f"(batched), got {query.ndim}-D, {key.ndim}-D and "
                                 f"{value.ndim}-D")
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {query.shape[-1]}")
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
            if attn_mask is not None and attn_mask.ndim == 3:
                pass  # (num_heads, L, S) is already (N * num_heads, L, S) with N = 1
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        out, weights = _mha_forward(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.out_proj.weight, self.out_proj.bias, self.dropout, self.training,
            key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal,
            self.q_proj_weight, self.k_proj_weight, self.v_proj_weight, nan_rows=nan_rows,
        )
        if unbatched:
            out = out.squeeze(1)
            if weights is not None:
                weights = weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
