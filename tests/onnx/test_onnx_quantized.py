"""torchlite/onnx/converters/quantized.py: dynamically quantized Linear layers export as their
own integer arithmetic and match torchlite exactly; the layers that are not exported are named."""

import pytest
from _onnx_roundtrip import export_bytes, require_extra, roundtrip

import torchlite
from torchlite import nn

require_extra()
quantize_dynamic = pytest.importorskip("torchlite.ao.quantization").quantize_dynamic


def _mlp(k=8):
    torchlite.manual_seed(0)
    return nn.Sequential(nn.Linear(k, 16), nn.ReLU(), nn.Linear(16, 4)).eval()


@pytest.mark.parametrize("per_channel", [False, True])
def test_dynamic_linear_matches_exactly(per_channel):
    from torchlite.ao.quantization import per_channel_dynamic_qconfig

    spec = {nn.Linear: per_channel_dynamic_qconfig} if per_channel else {nn.Linear}
    q = quantize_dynamic(_mlp(), spec)
    diffs = roundtrip(q, torchlite.randn(2, 8), other=5)
    assert max(diffs.values()) == 0.0


@pytest.mark.parametrize("x", ["zeros", "tiny", "positive"])
def test_dynamic_linear_edge_ranges_and_long_rows(x):
    q = quantize_dynamic(_mlp(1500), {nn.Linear})  # K = 1500: the product is split
    torchlite.manual_seed(1)
    inp = {"zeros": torchlite.zeros(3, 1500), "tiny": torchlite.randn(3, 1500) * 1e-6,
           "positive": torchlite.rand(3, 1500) + 1}[x]
    assert roundtrip(q, inp, dynamic=False) == {3: 0.0}


def test_layers_computed_outside_the_recorded_ops_are_named():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 5)
            self.fc = nn.Linear(5, 2)

        def forward(self, x):
            return self.fc(self.rnn(x)[0])

    q = quantize_dynamic(Net().eval(), {nn.LSTM, nn.Linear})
    with pytest.raises(torchlite.onnx.OnnxExporterError, match=r"module 'rnn' "
                       r"\(DynamicQuantizedLSTM\)"):
        export_bytes(q, torchlite.randn(3, 2, 4))
