"""Transformer encoder and decoder layers and stacks, and nn.Transformer (Vaswani et al., 2017),
with PyTorch's arguments, state_dict keys and parameter layouts."""

from __future__ import annotations

import copy

import numpy as np

from ... import backend
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
           "TransformerDecoder", "Transformer"]


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """(sz, sz) float mask: 0 on and below the diagonal, -inf above (a causal attn_mask)."""
    dt = backend.to_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    m = np.triu(np.full((sz, sz), -np.inf), k=1).astype(dt.np)
    dev = backend.factory_device(device)
    return Tensor._make(backend.move(m, dev), dev)


def _activation(activation):
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _build_layer(layer, n_attn: int, d_model, nhead, dim_feedforward, dropout, activation,
                 layer_norm_eps, batch_first, norm_first, bias, device, dtype) -> None:
    """The submodules of an encoder (one attention) or decoder (two) layer, registered in
    PyTorch's order so the state_dict keys come out the same: self_attn[, multihead_attn],
    linear1, dropout, linear2, norm1..norm{n+1}, dropout1..dropout{n+1}."""
    fk = {"device": device, "dtype": dtype}
    for name in ("self_attn", "multihead_attn")[:n_attn]:
        setattr(layer, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                batch_first=batch_first, **fk))
    layer.linear1 = Linear(d_model, dim_feedforward, bias=bias, **fk)
    layer.dropout = Dropout(dropout)
    layer.linear2 = Linear(dim_feedforward, d_model, bias=bias, **fk)
    layer.norm_first = norm_first
    for i in range(1, n_attn + 2):
        setattr(layer, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk))
    for i in range(1, n_attn + 2):
        setattr(layer, f"dropout{i}", Dropout(dropout))
    layer.activation = _activation(activation)


def _attend(attn, x, kv, attn_mask, key_padding_mask, is_causal, drop):
    """An attention block: attn(x, kv, kv) (weights not needed), then its dropout."""
    return drop(attn(x, kv, kv, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                     need_weights=False, is_causal=is_causal)[0])


def _feed_forward(layer, x, drop):
    return drop(layer.linear2(layer.dropout(layer.activation(layer.linear1(x)))))


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block, each with dropout, a residual connection and
    LayerNorm (after the residual, or before the block with norm_first=True).

    Shape: src (S, N, d_model) (batch_first: (N, S, d_model); unbatched: (S, d_model)) -> same.
    state_dict keys as PyTorch: self_attn.in_proj_weight, self_attn.out_proj.weight,
    linear1.weight, linear2.weight, norm1.weight, norm2.weight (and biases).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        _build_layer(self, 1, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                     batch_first, norm_first, bias, device, dtype)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        return _attend(self.self_attn, x, x, attn_mask, key_padding_mask, is_causal,
                       self.dropout1)

    def _ff_block(self, x):
        return _feed_forward(self, x, self.dropout2)


class TransformerEncoder(Module):
    """A stack of `num_layers` copies of `encoder_layer`, then an optional final `norm`.

    Shape: as the layer. state_dict keys layers.{i}.<layer keys> and norm.* as PyTorch.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm=None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None,
                is_causal: bool | None = None) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                        is_causal=bool(is_causal))
        if self.norm is not None:
            out = self.norm(out)
        return out


class TransformerDecoderLayer(Module):
    """Self-attention over tgt, attention from tgt to memory (the encoder's output) and a
    feed-forward block, each with dropout, a residual connection and LayerNorm (after the
    residual, or before the block with norm_first=True).

    Shape: tgt (T, N, d_model), memory (S, N, d_model) (batch_first: (N, T, d_model) and
    (N, S, d_model); unbatched: (T, d_model) and (S, d_model)) -> same as tgt. tgt_mask (T, T) or
    (N*nhead, T, T), memory_mask (T, S), key padding masks (N, T) and (N, S).
    state_dict keys as PyTorch: self_attn.*, multihead_attn.*, linear1.*, linear2.*, norm1.*,
    norm2.*, norm3.*. The *_is_causal flags are hints only: the masks given are always applied.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        _build_layer(self, 2, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                     batch_first, norm_first, bias, device, dtype)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        return _attend(self.self_attn, x, x, attn_mask, key_padding_mask, is_causal,
                       self.dropout1)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        return _attend(self.multihead_attn, x, mem, attn_mask, key_padding_mask, is_causal,
                       self.dropout2)

    def _ff_block(self, x):
        return _feed_forward(self, x, self.dropout3)


class TransformerDecoder(Module):
    """A stack of `num_layers` copies of `decoder_layer`, then an optional final `norm`.

    Shape: as the layer. state_dict keys layers.{i}.<layer keys> and norm.* as PyTorch.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm=None) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        # (PyTorch would detect a causal tgt_mask here; the hint changes nothing in torchlite,
        # whose attention always applies the mask it is given)
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        if self.norm is not None:
            out = self.norm(out)
        return out


class Transformer(Module):
    """An encoder-decoder transformer: TransformerEncoder (with a final LayerNorm) over src, then
    TransformerDecoder (with a final LayerNorm) over tgt attending to the encoder's output.

    Shape: src (S, N, E), tgt (T, N, E) (batch_first: (N, S, E), (N, T, E); unbatched: (S, E),
    (T, E)) -> (T, N, E) (as tgt). Masks as TransformerEncoderLayer / TransformerDecoderLayer.
    state_dict keys as PyTorch: encoder.layers.{i}.*, encoder.norm.*, decoder.layers.{i}.*,
    decoder.norm.*. Every parameter with more than one dimension is re-initialised with
    xavier_uniform_ (PyTorch's scheme), custom encoder/decoder included.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        fk = {"device": device, "dtype": dtype}
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*args, **fk), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*args, **fk), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        if src.ndim == 3:
            b = 0 if self.batch_first else 1
            if src.shape[b] != tgt.shape[b]:
                raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """(sz, sz) float mask: 0.0 on and below the diagonal, -inf above (a causal mask)."""
        return generate_square_subsequent_mask(sz, device=device, dtype=dtype)
