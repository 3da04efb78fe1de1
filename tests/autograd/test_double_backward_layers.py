"""Double backward through nn layers: gradgradcheck in float64 with respect to the input and
every parameter (tiny layers: the check is numerical; the attention layers, with many
parameters, are checked with respect to the input and their first parameter only)."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite as torch
from torchlite import nn
from torchlite.autograd import gradgradcheck


def _x(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.uniform(-1, 1, size=shape), dtype=torch.float64,
                        requires_grad=True)


def _first(out):
    return out[0] if isinstance(out, tuple) else out


LAYERS = {
    "linear": (lambda: nn.Linear(3, 2), (2, 3)),
    "conv2d": (lambda: nn.Conv2d(2, 2, 2, stride=1, padding=1), (1, 2, 3, 3)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(2, 1, 2, stride=2), (1, 2, 2, 2)),
    "batch_norm_train": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "layer_norm": (lambda: nn.LayerNorm(3), (2, 3)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), (2, 4, 2)),
    "instance_norm": (lambda: nn.InstanceNorm1d(2, affine=True), (2, 2, 3)),
    "prelu": (lambda: nn.PReLU(3), (2, 3)),
    "multihead_attention": (lambda: _SelfAttention(), (1, 3, 4)),
    "transformer_encoder_layer": (
        lambda: nn.TransformerEncoderLayer(4, 2, dim_feedforward=4, dropout=0.0,
                                           batch_first=True), (1, 2, 4)),
    "lstm": (lambda: nn.LSTM(2, 2, batch_first=True), (1, 3, 2)),
    "gru": (lambda: nn.GRU(2, 2), (3, 1, 2)),
    "max_pool_then_linear": (lambda: nn.Sequential(nn.MaxPool1d(2), nn.Linear(2, 1)), (1, 1, 4)),
    "upsample_bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 1, 2, 2)),
    "softplus_mlp": (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softplus(), nn.Linear(3, 1)),
                     (2, 2)),
}


class _SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x)[0]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_double_backward(name):
    make, shape = LAYERS[name]
    torch.manual_seed(0)
    layer = make().to(torch.float64)
    x = _x(*shape)
    params = [p for p in layer.parameters() if p.requires_grad]
    if name in ("multihead_attention", "transformer_encoder_layer"):
        params = params[:1]

    def fn(x, *_params):
        return _first(layer(x))

    assert gradgradcheck(fn, (x, *params), atol=1e-5, rtol=1e-3)
