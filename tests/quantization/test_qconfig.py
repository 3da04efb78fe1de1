"""The default qconfigs of each backend: the ranges and schemes their observers and fake
quantizers use, as PyTorch documents them (and, where it is installed, as it builds them)."""

from __future__ import annotations

import warnings

import pytest

import torchlite as tl
from torchlite.ao import quantization as tq

BACKENDS = ("x86", "fbgemm", "qnnpack", "onednn")

# PyTorch's defaults: x86/fbgemm halve the activation range (their int8 kernels need the
# headroom), onednn and qnnpack use all of it; qnnpack quantizes weights per tensor
EXPECTED = {
    "x86": ((0, 127), tl.per_channel_symmetric),
    "fbgemm": ((0, 127), tl.per_channel_symmetric),
    "qnnpack": ((0, 255), tl.per_tensor_symmetric),
    "onednn": ((0, 255), tl.per_channel_symmetric),
}


def _ranges(qconfig):
    act, weight = qconfig.activation(), qconfig.weight()
    return (act.quant_min, act.quant_max), weight.qscheme, (weight.quant_min, weight.quant_max)


@pytest.mark.parametrize("backend", BACKENDS)
def test_qat_qconfig_ranges(backend):
    # a qnnpack model fake-quantized over 0..127 in training runs over 0..255 once converted
    act, scheme = EXPECTED[backend]
    assert _ranges(tq.get_default_qat_qconfig(backend)) == (act, scheme, (-128, 127))


@pytest.mark.parametrize("backend", BACKENDS)
def test_post_training_qconfig_ranges(backend):
    act, scheme = EXPECTED[backend]
    assert _ranges(tq.get_default_qconfig(backend)) == (act, scheme, (-128, 127))


@pytest.mark.parity
@pytest.mark.parametrize("qat", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_qconfigs_equal_torch(backend, qat):
    torch = pytest.importorskip("torch", reason="parity tests need torch")
    ta = torch.ao.quantization
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        theirs = (ta.get_default_qat_qconfig if qat else ta.get_default_qconfig)(backend)
        t_act, t_scheme, t_weight = _ranges(theirs)
    ours = (tq.get_default_qat_qconfig if qat else tq.get_default_qconfig)(backend)
    act, scheme, weight = _ranges(ours)
    assert (act, weight) == (t_act, t_weight)
    assert str(scheme).rsplit(".", 1)[-1] == str(t_scheme).rsplit(".", 1)[-1]


@pytest.mark.parametrize("backend", ["x86", "qnnpack"])
@pytest.mark.parametrize("per_channel", [False, True])
def test_a_qat_run_quantizes_weights_as_per_channel_says(backend, per_channel):
    from torchlite.training.quantize import qat_model

    model = qat_model(tl.nn.Sequential(tl.nn.Linear(4, 3), tl.nn.ReLU(), tl.nn.Linear(3, 2)),
                      {"backend": backend, "per_channel": per_channel})
    layer = model.module[0]
    want = tl.per_channel_symmetric if per_channel else tl.per_tensor_symmetric
    assert layer.weight_fake_quant.qscheme == want
    act = layer.activation_post_process
    assert (act.quant_min, act.quant_max) == EXPECTED[backend][0]


def test_qnnpack_qat_model_and_its_int8_conversion_agree():
    # the converted layers saturate at 0..255: trained against the same range, the int8
    # model gives the fake-quantized model's outputs, also for inputs beyond the ranges the
    # observers saw (with 0..127 in training, those ran up to 114 output steps apart). A
    # hidden value on a rounding boundary may round the other way in one of the two (float
    # sums in another order): a step or two, for a few elements
    import copy

    import numpy as np

    from torchlite.training.quantize import qat_model

    tl.manual_seed(0)
    model = qat_model(tl.nn.Sequential(tl.nn.Linear(8, 16), tl.nn.ReLU(), tl.nn.Linear(16, 4)),
                      {"backend": "qnnpack", "per_channel": True})
    rng = np.random.default_rng(0)
    for _ in range(20):  # the observers' moving averages settle on batches of this spread
        model(tl.from_numpy(rng.standard_normal((32, 8)).astype(np.float32)))
    model.eval()
    model.apply(tq.disable_observer)
    x = tl.from_numpy(2.0 * rng.standard_normal((256, 8)).astype(np.float32))
    with tl.no_grad():
        fake = model(x).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            int8 = tq.convert(copy.deepcopy(model), inplace=True)
        out = int8(x).numpy()
    steps = np.abs(out - fake) / float(int8.module[2].scale)
    assert steps.max() <= 2.01 and (steps > 0.5).mean() <= 0.01
