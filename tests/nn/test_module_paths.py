"""PyTorch's module paths `nn.modules.<file>.<Class>` resolve to torchlite's classes."""

import importlib

import pytest

import torchlite
import torchlite.nn as nn

# common paths in PyTorch code (isinstance checks, pickled class names, type annotations)
PATHS = {
    "activation": ["ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
                   "Mish", "Sigmoid", "Tanh", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid",
                   "Hardswish", "Softmax", "LogSoftmax", "Softmin", "Threshold", "GLU",
                   "MultiheadAttention"],
    "batchnorm": ["BatchNorm1d", "BatchNorm2d"],
    "container": ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"],
    "conv": ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"],
    "distance": ["PairwiseDistance", "CosineSimilarity"],
    "dropout": ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"],
    "flatten": ["Flatten", "Unflatten"],
    "instancenorm": ["InstanceNorm1d", "InstanceNorm2d"],
    "linear": ["Identity", "Linear", "Bilinear"],
    "loss": ["L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "NLLLoss", "CrossEntropyLoss",
             "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "CosineEmbeddingLoss",
             "MarginRankingLoss", "TripletMarginLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
             "PoissonNLLLoss", "GaussianNLLLoss", "MultiLabelSoftMarginLoss"],
    "module": ["Module"],
    "normalization": ["LayerNorm", "GroupNorm", "RMSNorm"],
    "pixelshuffle": ["PixelShuffle", "PixelUnshuffle"],
    "pooling": ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
                "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"],
    "rnn": ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNNCellBase"],
    "sparse": ["Embedding"],
    "transformer": ["Transformer", "TransformerEncoder", "TransformerDecoder",
                    "TransformerEncoderLayer", "TransformerDecoderLayer"],
    "upsampling": ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"],
}
# the private bases that code checks with isinstance (e.g. every batch norm in a model)
BASES = {"batchnorm": ["_BatchNorm", "_NormBase"], "instancenorm": ["_InstanceNorm"],
         "conv": ["_ConvNd"], "loss": ["_Loss", "_WeightedLoss"], "dropout": ["_DropoutNd"]}
CASES = [(f, c) for f, names in PATHS.items() for c in names]


@pytest.mark.parametrize(("file", "name"), CASES, ids=[f"{f}.{c}" for f, c in CASES])
def test_path_is_the_top_level_class(file, name):
    submodule = getattr(torchlite.nn.modules, file)  # reachable without importing it first
    assert getattr(submodule, name) is getattr(nn, name)
    assert importlib.import_module(f"torchlite.nn.modules.{file}") is submodule


def test_private_bases():
    assert issubclass(nn.BatchNorm2d, nn.modules.batchnorm._BatchNorm)
    assert issubclass(nn.BatchNorm1d, nn.modules.batchnorm._NormBase)
    assert issubclass(nn.InstanceNorm2d, nn.modules.instancenorm._InstanceNorm)
    assert issubclass(nn.Conv2d, nn.modules.conv._ConvNd)
    assert issubclass(nn.CrossEntropyLoss, nn.modules.loss._WeightedLoss)
    assert issubclass(nn.MSELoss, nn.modules.loss._Loss)
    assert issubclass(nn.Dropout, nn.modules.dropout._DropoutNd)


def test_non_dynamically_quantizable_linear_is_a_linear():
    cls = nn.modules.linear.NonDynamicallyQuantizableLinear
    m = cls(3, 2, bias=False)
    assert isinstance(m, nn.Linear) and tuple(m(torchlite.ones(4, 3)).shape) == (4, 2)
    assert list(m.state_dict()) == ["weight"]
    assert not hasattr(nn, "NonDynamicallyQuantizableLinear")  # as PyTorch: only by its path


@pytest.mark.parity
def test_paths_are_pytorchs():
    torch = pytest.importorskip("torch")
    for file, name in CASES + [(f, c) for f, names in BASES.items() for c in names]:
        assert hasattr(getattr(torch.nn.modules, file), name), f"{file}.{name}"
        assert hasattr(getattr(nn.modules, file), name), f"{file}.{name}"
    assert hasattr(torch.nn.modules.linear, "NonDynamicallyQuantizableLinear")
