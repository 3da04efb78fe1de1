"""torchlite/onnx/converters/elementwise.py: activations, arithmetic, softmax, matmul."""

import pytest
from _onnx_roundtrip import export_bytes, require_extra, roundtrip

import torchlite
from torchlite import nn

require_extra()

ACTIVATIONS = [
    nn.ReLU(), nn.ReLU(inplace=True), nn.ReLU6(), nn.SELU(), nn.SiLU(), nn.Mish(),
    nn.Hardsigmoid(), nn.Hardswish(), nn.LeakyReLU(0.2), nn.PReLU(), nn.PReLU(4), nn.ELU(0.7),
    nn.CELU(1.3), nn.GELU(), nn.GELU(approximate="tanh"), nn.Sigmoid(), nn.Tanh(),
    nn.Softsign(), nn.Tanhshrink(), nn.LogSigmoid(), nn.Softplus(), nn.Softplus(2.0, 3.0),
    nn.Hardtanh(-0.5, 0.7), nn.Threshold(0.1, -2.0), nn.Softshrink(0.3), nn.Hardshrink(0.3),
    nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Softmin(dim=1), nn.GLU(dim=1), nn.RReLU(),
    nn.Softmax2d(),
]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda m: repr(m))
def test_every_activation(act):
    torchlite.manual_seed(0)
    x = torchlite.randn(2, 4, 3, 5) * 4
    roundtrip(act, x)


def test_elementwise_arithmetic_broadcasts():
    class Net(nn.Module):
        def forward(self, a, b):
            y = (a + b) * 2 - b / 3
            y = y ** 2 + torchlite.maximum(a, b) - torchlite.minimum(a, 0.5 * b)
            y = y + a.exp() * 0.1 + b.abs().sqrt() + (a * a + 1).log() + a.neg().sin()
            mask = torchlite.tensor([True, False, False, True])  # not computed from inputs
            y = y + torchlite.where(mask, a, b) + a.clamp(-0.5, 0.5) + a.reciprocal().tanh()
            return y + a.rsqrt().nan_to_num(0.0) * 0 + 1 - torchlite.erf(b)

    torchlite.manual_seed(0)
    a = torchlite.randn(2, 3, 4)
    b = torchlite.randn(1, 4)
    roundtrip(Net(), (a, b), dynamic=False)


def test_scalar_and_int_operands_keep_float32():
    class Net(nn.Module):
        def forward(self, x):
            return 3 - x * 2 + 1.5 / (x.abs() + 1) + x.square() + x.log1p().expm1() * 0

    roundtrip(Net(), torchlite.rand(4, 3))


def test_softmax_matmul_einsum():
    class Net(nn.Module):
        def forward(self, a, b):
            s = torchlite.softmax(a @ b.transpose(-1, -2), dim=-1)
            return torchlite.einsum("bij,bjk->bik", s, b), torchlite.log_softmax(a, dim=1)

    torchlite.manual_seed(0)
    roundtrip(Net(), (torchlite.randn(2, 3, 4), torchlite.randn(2, 5, 4)))


def test_dtype_changes_and_clones():
    class Net(nn.Module):
        def forward(self, x):
            return x.double().float().clone() + x.to(torchlite.float32)

    roundtrip(Net(), torchlite.randn(3, 2))


def test_a_comparison_of_inputs_is_refused_not_baked_in():
    """Comparisons build no graph node, so the capture cannot see them: a mask computed from the
    inputs must not end up in the graph as a constant."""

    class Net(nn.Module):
        def forward(self, x):
            return torchlite.where(x > 0, x, x * 0.1)

    with pytest.raises(torchlite.onnx.OnnxExporterError, match="op 'Where'.*changes with the "
                       "inputs"):
        export_bytes(Net(), torchlite.randn(2, 3))


SPECIAL = {
    "inverse_hyperbolic": lambda x, y: x.asinh() + (x.abs() + 1).acosh() + (x * 0.3).tanh().atanh(),
    "angles": lambda x, y: torchlite.deg2rad(x) + torchlite.rad2deg(y),
    "erfc_sinc_logit": lambda x, y: torchlite.erfc(x) + torchlite.sinc(y)
    + torchlite.logit(x.sigmoid(), eps=1e-3) + torchlite.logit(y.sigmoid()),
    "rounding": lambda x, y: (x * 3).floor() + (x * 3).ceil() + (y * 3).trunc() + (y * 3).round()
    + x.sign(),
    "two_argument": lambda x, y: torchlite.atan2(x, y) + torchlite.hypot(x, y)
    + torchlite.logaddexp(x, y) + torchlite.logaddexp2(x, y) + torchlite.copysign(x, y)
    + torchlite.xlogy(x.abs(), y.abs() + 0.1),
}


@pytest.mark.parametrize("name", SPECIAL)
def test_special_functions(name):
    class Net(nn.Module):
        def forward(self, x, y):
            return SPECIAL[name](x, y)

    torchlite.manual_seed(0)
    x = torchlite.randn(3, 5)
    y = torchlite.randn(3, 5)
    y[0, 0] = 0.0  # atan2's and sinc's special points
    x[1, 1] = 0.0
    roundtrip(Net(), (x, y))
