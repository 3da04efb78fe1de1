"""torchlite/onnx/converters/nn.py: linear, convolution, pooling, normalisation, embedding,
attention and dropout layers."""

import pytest
from _onnx_roundtrip import export_bytes, require_extra, roundtrip

import torchlite
from torchlite import nn

require_extra()


def _x(*shape, seed=0):
    torchlite.manual_seed(seed)
    return torchlite.randn(*shape)


@pytest.mark.parametrize("layer", [
    nn.Conv2d(3, 6, 3),
    nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2, bias=False),
    nn.Conv2d(3, 6, (3, 2), padding=(2, 1), dilation=(2, 1)),
    nn.Conv2d(3, 6, 3, padding="same", padding_mode="reflect"),
    nn.Conv2d(3, 6, 3, padding=1, padding_mode="replicate"),
    nn.Conv2d(3, 6, 3, padding=2, padding_mode="circular"),
    nn.Conv2d(4, 4, 3, padding=1, groups=4),
    nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
    nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2, dilation=1),
    nn.ConvTranspose2d(4, 3, 3, dilation=2, bias=False),
], ids=repr)
def test_conv2d(layer):
    c = layer.in_channels
    roundtrip(layer, _x(2, c, 9, 8))


@pytest.mark.parametrize("layer", [
    nn.Conv1d(3, 5, 3), nn.Conv1d(4, 6, 5, stride=2, padding=2, dilation=2, groups=2),
    nn.Conv1d(3, 5, 3, padding=1, padding_mode="reflect"),
], ids=repr)
def test_conv1d(layer):
    roundtrip(layer, _x(2, layer.in_channels, 11))


@pytest.mark.parametrize("layer", [
    nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, padding=1), nn.MaxPool2d(3, 2, ceil_mode=True),
    nn.MaxPool2d(2, dilation=2), nn.AvgPool2d(2), nn.AvgPool2d(3, 2, padding=1),
    nn.AvgPool2d(3, 2, padding=1, count_include_pad=False), nn.AvgPool2d(3, 2, ceil_mode=True),
    nn.AvgPool2d(2, divisor_override=3), nn.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d((3, 2)),
    nn.AdaptiveMaxPool2d((3, 4)), nn.MaxPool1d(3, 2), nn.AvgPool1d(2),
    nn.AdaptiveAvgPool1d(4), nn.Upsample(scale_factor=2) if hasattr(nn, "Upsample") else None,
], ids=repr)
def test_pooling(layer):
    if layer is None:
        pytest.skip("no Upsample")
    one_d = type(layer).__name__.endswith("1d")
    x = _x(2, 3, 9) if one_d else _x(2, 3, 9, 8)
    if isinstance(layer, nn.AdaptiveMaxPool2d):
        x = _x(2, 3, 9, 8)
    roundtrip(layer, x)


@pytest.mark.parametrize("layer", [
    nn.BatchNorm1d(6), nn.BatchNorm2d(3), nn.BatchNorm2d(3, affine=False),
    nn.BatchNorm2d(3, track_running_stats=False), nn.LayerNorm(8), nn.LayerNorm([5, 8]),
    nn.LayerNorm(8, elementwise_affine=False), nn.GroupNorm(3, 6), nn.GroupNorm(1, 6),
    nn.InstanceNorm2d(3), nn.InstanceNorm2d(3, affine=True),
], ids=repr)
def test_normalisation(layer):
    torchlite.manual_seed(1)
    for name, buf in layer.named_buffers():  # running statistics that are not the defaults
        if name.endswith("running_mean"):
            buf.copy_(torchlite.randn(*buf.shape))
        elif name.endswith("running_var"):
            buf.copy_(torchlite.rand(*buf.shape) + 0.5)
    shapes = {"BatchNorm1d": (4, 6), "BatchNorm2d": (4, 3, 5, 8), "LayerNorm": (4, 3, 5, 8),
              "GroupNorm": (4, 6, 5, 3), "InstanceNorm2d": (4, 3, 5, 8)}
    roundtrip(layer, _x(*shapes[type(layer).__name__]) * 3 + 1)


def test_linear_on_any_leading_dims_and_dropout_removed_in_eval():
    net = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 4),
                        nn.AlphaDropout(0.2), nn.Identity(), nn.Flatten(1))
    roundtrip(net, _x(2, 3, 8))
    data = export_bytes(net.eval(), (_x(2, 8),))
    assert b"Dropout" not in data


def test_dropout_in_training_mode_is_refused():
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    with pytest.raises(torchlite.onnx.UnsupportedOperatorError, match=r"MulMask.*'1'"):
        export_bytes(net, (_x(2, 4),), training=torchlite.onnx.TrainingMode.TRAINING)
    assert net.training  # the model's own mode comes back after export


def test_embedding_and_bag_of_indices():
    emb = nn.Embedding(20, 6, padding_idx=0)
    idx = torchlite.tensor([[1, 5, 0, 19], [3, 3, 2, 7]])
    roundtrip(emb, idx)


def test_multihead_attention():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(16, 4, batch_first=True)

        def forward(self, q, kv):
            return self.mha(q, kv, kv)

    torchlite.manual_seed(0)
    roundtrip(Net(), (_x(2, 5, 16), _x(2, 7, 16, seed=1)))


def test_attention_with_a_causal_mask():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2)

        def forward(self, x):
            L = x.shape[0]
            mask = nn.Transformer.generate_square_subsequent_mask(L)
            return self.mha(x, x, x, attn_mask=mask, need_weights=False)[0]

    torchlite.manual_seed(0)
    roundtrip(Net(), _x(5, 2, 8), axis=1)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_bag_of_equal_bags(mode, padding_idx):
    torchlite.manual_seed(0)
    bag = nn.EmbeddingBag(12, 4, mode=mode, padding_idx=padding_idx)
    ids = torchlite.tensor([[1, 0, 5, 0], [0, 0, 0, 0], [11, 3, 3, 7]])
    roundtrip(bag, ids, other=5)


def test_bilinear():
    torchlite.manual_seed(0)
    layer = nn.Bilinear(3, 4, 5)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, a, b):
            return self.layer(a, b)

    roundtrip(Net(), (_x(2, 3), _x(2, 4, seed=1)))
