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
