"""No float64 leaks: float32 layers and losses give float32 outputs and float32 gradients (and
so for float64, float16 and bfloat16)."""

import warnings

import numpy as np
import pytest
from _bf16 import BF16, HAS_BF16
from _nn_checks import rnd

import torchlite
import torchlite.nn as nn

FLOATS = [torchlite.float32, torchlite.float64, torchlite.float16, BF16]


def _x(shape, seed=0, low=-2.0, high=2.0):
    return rnd(shape, seed, low, high)


def _idx(*shape):
    return torchlite.tensor(np.random.default_rng(0).integers(0, 3, size=shape))


# name -> (module factory, list of input builders taking a dtype)
LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3), [lambda d: _x((2, 4))]),
    "Bilinear": (lambda: nn.Bilinear(4, 2, 3), [lambda d: _x((2, 4)), lambda d: _x((2, 2), 1)]),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4), [lambda d: _x((3, 4))]),
    "BatchNorm1d_eval": (lambda: nn.BatchNorm1d(4).eval(), [lambda d: _x((3, 4))]),
    "LayerNorm": (lambda: nn.LayerNorm(4), [lambda d: _x((3, 4))]),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), [lambda d: _x((3, 4, 2))]),
    "Dropout": (lambda: nn.Dropout(0.3), [lambda d: _x((3, 4))]),
    "Dropout1d": (lambda: nn.Dropout1d(0.3), [lambda d: _x((3, 4, 2))]),
    "Dropout2d": (lambda: nn.Dropout2d(0.3), [lambda d: _x((3, 4, 2, 2))]),
    "AlphaDropout": (lambda: nn.AlphaDropout(0.3), [lambda d: _x((3, 4))]),
    "Flatten": (lambda: nn.Flatten(), [lambda d: _x((3, 2, 2))]),
    "PReLU": (lambda: nn.PReLU(4), [lambda d: _x((3, 4))]),
    "Softmax": (lambda: nn.Softmax(1), [lambda d: _x((3, 4))]),
    "LogSoftmax": (lambda: nn.LogSoftmax(1), [lambda d: _x((3, 4))]),
    "Softmin": (lambda: nn.Softmin(1), [lambda d: _x((3, 4))]),
    "GLU": (lambda: nn.GLU(), [lambda d: _x((3, 4))]),
    "RReLU": (lambda: nn.RReLU(), [lambda d: _x((3, 4))]),
    "RMSNorm": (lambda: nn.RMSNorm(4), [lambda d: _x((3, 4))]),
    "Softmax2d": (lambda: nn.Softmax2d(), [lambda d: _x((2, 3, 2, 2))]),
    "PairwiseDistance": (lambda: nn.PairwiseDistance(), [lambda d: _x((3, 4)),
                                                         lambda d: _x((3, 4), 1)]),
    "CosineSimilarity": (lambda: nn.CosineSimilarity(), [lambda d: _x((3, 4)),
                                                         lambda d: _x((3, 4), 1)]),
}
for _name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
              "Sigmoid", "Tanh", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish",
              "Tanhshrink", "Softshrink", "Hardshrink", "LogSigmoid"):
    LAYERS[_name] = (getattr(nn, _name), [lambda d: _x((3, 4))])
LAYERS["Threshold"] = (lambda: nn.Threshold(0.1, 2.0), [lambda d: _x((3, 4))])
LAYERS["GELU_tanh"] = (lambda: nn.GELU("tanh"), [lambda d: _x((3, 4))])

_p = lambda s=0: rnd((3, 4), s, 0.05, 0.95)  # noqa: E731
_sign = np.array([1.0, -1.0, 1.0])
LOSSES = {
    "MSELoss": (nn.MSELoss, [_x((3, 4)), _x((3, 4), 1)]),
    "L1Loss": (nn.L1Loss, [_x((3, 4)), _x((3, 4), 1)]),
    "SmoothL1Loss": (nn.SmoothL1Loss, [_x((3, 4)), _x((3, 4), 1)]),
    "HuberLoss": (nn.HuberLoss, [_x((3, 4)), _x((3, 4), 1)]),
    "CrossEntropyLoss": (lambda: nn.CrossEntropyLoss(label_smoothing=0.1), [_x((3, 4)), _idx(3)]),
    "CrossEntropyLoss_prob": (nn.CrossEntropyLoss, [_x((3, 4)), _p()]),
    "CrossEntropyLoss_w": (lambda: nn.CrossEntropyLoss(weight=torchlite.ones(4)),
                           [_x((3, 4)), _idx(3)]),
    "NLLLoss": (nn.NLLLoss, [_x((3, 4)), _idx(3)]),
    "BCELoss": (nn.BCELoss, [_p(), _p(1)]),
    "BCEWithLogitsLoss": (lambda: nn.BCEWithLogitsLoss(pos_weight=torchlite.ones(4)),
                          [_x((3, 4)), _p(1)]),
    "KLDivLoss": (lambda: nn.KLDivLoss(reduction="batchmean"), [np.log(_p()), _p(1)]),
    "CosineEmbeddingLoss": (nn.CosineEmbeddingLoss, [_x((3, 4)), _x((3, 4), 1),
                                                     torchlite.tensor(_sign)]),
    "MarginRankingLoss": (nn.MarginRankingLoss, [_x((3,)), _x((3,), 1), _sign]),
    "TripletMarginLoss": (nn.TripletMarginLoss, [_x((3, 4)), _x((3, 4), 1), _x((3, 4), 2)]),
    "HingeEmbeddingLoss": (nn.HingeEmbeddingLoss, [_x((3, 4)), np.sign(_x((3, 4), 1))]),
    "SoftMarginLoss": (nn.SoftMarginLoss, [_x((3, 4)), np.sign(_x((3, 4), 1))]),
    "PoissonNLLLoss": (nn.PoissonNLLLoss, [_x((3, 4)), _p(1)]),
    "GaussianNLLLoss": (nn.GaussianNLLLoss, [_x((3, 4)), _x((3, 4), 1), _p(2)]),
    "MultiLabelSoftMarginLoss": (nn.MultiLabelSoftMarginLoss, [_x((3, 4)), np.round(_p(1))]),
}


def _as(a, dtype, grad):
    if isinstance(a, torchlite.Tensor):
        return a if a.is_floating_point() is False else a.to(dtype)
    return torchlite.tensor(np.asarray(a), dtype=dtype, requires_grad=grad)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_dtypes(name, dtype):
    make, builders = LAYERS[name]
    m = make().to(dtype)
    xs = [_as(b(dtype), dtype, True) for b in builders]
    out = m(*xs)
    assert out.dtype == dtype
    out.sum().backward()
    for t in [*xs, *m.parameters()]:
        assert t.grad is not None and t.grad.dtype == dtype, name
    for b in m.buffers():
        assert b.dtype in (dtype, torchlite.int64)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_dtypes(name, dtype):
    make, args = LOSSES[name]
    m = make().to(dtype)
    xs = [_as(a, dtype, i == 0) for i, a in enumerate(args)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = m(*xs)
    assert loss.dtype == dtype and loss.dim() == 0
    loss.backward()
    assert xs[0].grad.dtype == dtype
    assert np.isfinite(float(loss))


def test_embedding_dtypes():
    for dtype in FLOATS[:3] + [torchlite.bfloat16] * HAS_BF16:
        e = nn.Embedding(4, 2, dtype=dtype)
        out = e(_idx(2, 3))
        out.sum().backward()
        assert out.dtype == dtype and e.weight.grad.dtype == dtype
