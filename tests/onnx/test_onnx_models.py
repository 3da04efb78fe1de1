"""Whole models through torchlite.onnx.export: every shipped config's model (built from its
config, random weights), a custom model, an LSTM tagger and a small transformer encoder, each
checked by onnx.checker and run in ONNX Runtime within 1e-5 at batch 1 and at batch 5 with a
dynamic batch axis. Plus the recurrent layers (converters/rnn.py) one by one."""

from pathlib import Path

import pytest
from _onnx_roundtrip import require_extra, roundtrip

import torchlite
from torchlite import nn

require_extra()

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
# MNIST's files are not in the repository: its configs' models get their shapes here
MNIST_SHAPES = {"mnist_lenet.yaml": (1, 28, 28), "mnist_mlp.yaml": (784,)}


def _config_model(path: Path):
    from torchlite.training.build import DataBundle
    from torchlite.training.config import load_config
    from torchlite.training.prepare import prepare

    cfg, _ = load_config(path, [])
    data = None
    if path.name in MNIST_SHAPES:
        shape = MNIST_SHAPES[path.name]
        data = DataBundle(None, None, None, "classification", 10, None, shape, shape, None, {})
    run = prepare(cfg, upto="model", device="cpu", data=data)
    integer = str(getattr(cfg.data, "input_dtype", None) or "").startswith(("int", "uint"))
    return run.model, tuple(run.data.input_shape if data is None else data.input_shape), integer


def test_every_shipped_config_is_covered():
    assert {p.name for p in CONFIGS} >= {"digits_mlp.yaml", "digits_cnn.yaml", *MNIST_SHAPES}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_model(path, monkeypatch):
    monkeypatch.chdir(path.parent)  # custom_model.yaml names its code relative to configs/
    torchlite.manual_seed(0)
    model, shape, integer = _config_model(path)
    x = torchlite.randint(0, 16, (1, *shape)) if integer else torchlite.randn(1, *shape)
    diffs = roundtrip(model, x, other=5)
    assert set(diffs) == {1, 5}


class Tagger(nn.Module):
    """A bidirectional two-layer LSTM over embedded tokens, one tag per token."""

    def __init__(self, vocab=40, dim=12, hidden=16, tags=5):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, tags)

    def forward(self, tokens):
        h, _ = self.lstm(self.emb(tokens))
        return self.head(h).log_softmax(-1)


class Encoder(nn.Module):
    """A small transformer encoder classifier: embedding, positions, two layers, mean pool."""

    def __init__(self, vocab=30, d=16, heads=4, layers=2, classes=3, length=12):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torchlite.randn(1, length, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, heads, 32, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, classes)

    def forward(self, tokens):
        h = self.emb(tokens) + self.pos[:, :tokens.shape[1]]
        return self.out(self.norm(self.enc(h)).mean(1))


def test_lstm_tagger():
    torchlite.manual_seed(0)
    roundtrip(Tagger(), torchlite.randint(0, 40, (1, 9)), other=5)


def test_transformer_encoder():
    torchlite.manual_seed(0)
    roundtrip(Encoder(), torchlite.randint(0, 30, (1, 12)), other=5)


@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
def test_transformer_layers_sequence_first(norm_first, activation):
    torchlite.manual_seed(0)
    enc = nn.TransformerEncoderLayer(8, 2, 16, norm_first=norm_first, activation=activation)
    dec = nn.TransformerDecoderLayer(8, 2, 16, norm_first=norm_first, activation=activation)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = enc, dec

        def forward(self, src, tgt):
            return self.dec(tgt, self.enc(src))

    roundtrip(Net(), (torchlite.randn(6, 1, 8), torchlite.randn(4, 1, 8)), axis=1, other=3)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_layers(kind, bidirectional):
    torchlite.manual_seed(0)
    if kind.startswith("RNN"):
        layer = nn.RNN(5, 7, num_layers=2, nonlinearity=kind[4:].lower(),
                       bidirectional=bidirectional)
    else:
        layer = getattr(nn, kind)(5, 7, num_layers=2, bidirectional=bidirectional)
    roundtrip(layer, torchlite.randn(6, 2, 5), axis=1, other=4)


def test_recurrent_layer_with_given_states_and_cells():
    torchlite.manual_seed(0)
    lstm = nn.LSTM(4, 6, batch_first=True)
    cell = nn.GRUCell(6, 3)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.cell = lstm, cell

        def forward(self, x, h0, c0):
            out, (h, c) = self.lstm(x, (h0, c0))
            return self.cell(out[:, -1]), h, c

    roundtrip(Net(), (torchlite.randn(2, 5, 4), torchlite.randn(1, 2, 6),
                      torchlite.randn(1, 2, 6)), dynamic=False)


def test_custom_model_with_residual_and_in_place_ops():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            h = self.bn(self.conv(x))
            h.relu_()
            h = h + nn.functional.silu(h) * 0.5
            h += 1.0
            return self.fc(nn.functional.adaptive_avg_pool2d(h, 1).flatten(1)).softmax(-1)

    torchlite.manual_seed(0)
    roundtrip(Net(), torchlite.randn(1, 3, 6, 6), other=5)


@pytest.mark.parametrize("opset", [14, 15, 16, 18, 21])
def test_every_supported_opset(opset):
    torchlite.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(16, 3))
    roundtrip(cnn, torchlite.randn(1, 1, 4, 4), opset_version=opset)
    roundtrip(Encoder(), torchlite.randint(0, 30, (1, 12)), opset_version=opset)
    roundtrip(Tagger(), torchlite.randint(0, 40, (1, 9)), opset_version=opset)


def test_builtin_resnet_with_trained_statistics():
    from torchlite.training.models import resnet

    torchlite.manual_seed(0)
    model = resnet(3, 10, blocks=(2, 1, 1))
    for name, buf in model.named_buffers():
        if name.endswith("running_var"):
            buf.copy_(torchlite.rand(*buf.shape) + 0.5)
        elif name.endswith("running_mean"):
            buf.copy_(torchlite.randn(*buf.shape) * 0.1)
    roundtrip(model, torchlite.randn(1, 3, 16, 16), other=4)
