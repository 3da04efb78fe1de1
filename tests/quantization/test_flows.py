"""The eager-mode flows: quantize_dynamic (Linear, LSTM, GRU), fuse_modules, static
prepare/calibrate/convert, QAT, and quantized state dicts through safetensors files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import torchlite as tl
from torchlite import nn
from torchlite.ao import quantization as tq


def _torch():
    torch = pytest.importorskip("torch", reason="parity tests need torch")
    warnings.filterwarnings("ignore", category=UserWarning)
    return torch


def _copy(dst, src) -> None:
    dst.load_state_dict({k: v.detach().numpy() for k, v in src.state_dict().items()})


def _mlp(lib):
    n = lib.nn
    return n.Sequential(n.Linear(784, 128), n.ReLU(), n.Linear(128, 64), n.ReLU(),
                        n.Linear(64, 10)).eval()


def _cnn(lib, stubs):
    n = lib.nn
    return n.Sequential(stubs.QuantStub(), n.Conv2d(1, 8, 3, padding=1), n.ReLU(),
                        n.MaxPool2d(2), n.Conv2d(8, 16, 3, padding=1), n.ReLU(), n.MaxPool2d(2),
                        n.Flatten(), n.Linear(64, 32), n.ReLU(), n.Linear(32, 10),
                        stubs.DeQuantStub()).eval()


@pytest.mark.parity
@pytest.mark.parametrize("per_channel", [False, True])
def test_quantize_dynamic_linear_matches_torch(per_channel):
    torch = _torch()
    torch.manual_seed(0)
    tm, lm = _mlp(torch), _mlp(tl)
    _copy(lm, tm)
    tqc = torch.ao.quantization
    qconfig_t = tqc.per_channel_dynamic_qconfig if per_channel else tqc.default_dynamic_qconfig
    qconfig_l = tq.per_channel_dynamic_qconfig if per_channel else tq.default_dynamic_qconfig
    tq_m = tqc.quantize_dynamic(tm, {torch.nn.Linear: qconfig_t})
    lq_m = tq.quantize_dynamic(lm, {nn.Linear: qconfig_l})
    assert type(lq_m[0]) is nn.quantized.dynamic.Linear
    x = np.random.default_rng(0).standard_normal((32, 784)).astype(np.float32)
    with torch.no_grad():
        want, ref = tq_m(torch.from_numpy(x)).numpy(), tm(torch.from_numpy(x)).numpy()
    got = lq_m(tl.from_numpy(x)).numpy()
    np.testing.assert_array_equal(lq_m[0].weight().int_repr().numpy(),
                                  tq_m[0].weight().int_repr().numpy())
    # the same integers; an activation that lands on a rounding tie may differ by one step
    assert np.mean(np.abs(got - want) < 1e-5) > 0.9 and np.abs(got - want).max() < 5e-3
    assert np.abs(got - ref).max() < 0.05  # within quantization error of the float model
    assert lm[0].weight.dtype is tl.float32  # the float model is left alone


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_quantize_dynamic_rnn_close_to_torch(kind):
    torch = _torch()
    torch.manual_seed(0)
    tm = getattr(torch.nn, kind)(12, 16, num_layers=2, batch_first=True).eval()
    lm = getattr(nn, kind)(12, 16, num_layers=2, batch_first=True).eval()
    _copy(lm, tm)
    tq_m = torch.ao.quantization.quantize_dynamic(tm, {getattr(torch.nn, kind)})
    lq_m = tq.quantize_dynamic(lm, {getattr(nn, kind)})
    x = np.random.default_rng(1).standard_normal((3, 7, 12)).astype(np.float32)
    with torch.no_grad(), tl.no_grad():
        want = tq_m(torch.from_numpy(x))[0].numpy()
        ref = tm(torch.from_numpy(x))[0].numpy()
        got = lq_m(tl.from_numpy(x))[0].numpy()
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 0.02 and np.abs(got - ref).max() < 0.05


def test_fuse_modules_conv_bn_relu_and_linear_relu_equal_unfused():
    tl.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                      nn.Linear(4 * 36, 5), nn.ReLU())
    m.train()
    m(tl.randn(8, 2, 8, 8))  # running statistics that are not the defaults
    m.eval()
    x = tl.randn(3, 2, 8, 8)
    fused = tq.fuse_modules(m, [["0", "1", "2"], ["4", "5"]])
    assert isinstance(fused[0], nn.intrinsic.ConvReLU2d)
    assert isinstance(fused[4], nn.intrinsic.LinearReLU)
    assert isinstance(fused[1], nn.Identity) and isinstance(fused[2], nn.Identity)
    np.testing.assert_allclose(fused(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(AssertionError, match="eval"):
        tq.fuse_modules(m.train(), [["0", "1"]])


@pytest.mark.parity
def test_static_flow_matches_torch():
    torch = _torch()
    torch.manual_seed(0)
    tm, lm = _cnn(torch, torch.ao.quantization), _cnn(tl, tq)
    _copy(lm, tm)
    groups = [["1", "2"], ["4", "5"], ["8", "9"]]
    tm2 = torch.ao.quantization.fuse_modules(tm, groups)
    lm2 = tq.fuse_modules(lm, groups)
    tm2.qconfig = torch.ao.quantization.get_default_qconfig("x86")
    lm2.qconfig = tq.get_default_qconfig("x86")
    tp, lp = torch.ao.quantization.prepare(tm2), tq.prepare(lm2)
    x = np.random.default_rng(0).standard_normal((32, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        tp(torch.from_numpy(x))
    lp(tl.from_numpy(x))
    tc, lc = torch.ao.quantization.convert(tp), tq.convert(lp)
    assert isinstance(lc[1], nn.intrinsic.quantized.ConvReLU2d)
    assert isinstance(lc[10], nn.quantized.Linear)
    with torch.no_grad():
        want = tc(torch.from_numpy(x)).numpy()
    got = lc(tl.from_numpy(x)).numpy()
    scale = float(lc[10].scale)
    assert scale == pytest.approx(float(tc[10].scale), rel=1e-6)
    assert np.abs(got - want).max() <= scale * 1.01  # within one quantization step


def test_float_functional_add_is_observed_and_requantized():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
            self.fc = nn.Linear(4, 4)
            self.add = nn.quantized.FloatFunctional()

        def forward(self, x):
            x = self.quant(x)
            return self.dequant(self.add.add(self.fc(x), x))

    net = Net().eval()
    net.qconfig = tq.default_qconfig
    prepared = tq.prepare(net)
    x = tl.randn(16, 4)
    prepared(x)
    q = tq.convert(prepared)
    assert isinstance(q.add, nn.quantized.QFunctional)
    assert np.abs(q(x).numpy() - net(x).detach().numpy()).max() < 0.1


def test_qat_trains_then_converts():
    tl.manual_seed(0)
    model = nn.Sequential(tq.QuantStub(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3),
                          tq.DeQuantStub())
    model = tq.fuse_modules_qat(model, [["1", "2"]])
    model.qconfig = tq.get_default_qat_qconfig("x86")
    qat = tq.prepare_qat(model.train())
    assert isinstance(qat[1], nn.intrinsic.qat.LinearReLU)
    assert qat[1].weight is model[1][0].weight or qat[1].weight.shape == (16, 8)
    opt = tl.optim.SGD(qat.parameters(), lr=0.1)
    x = tl.randn(64, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(qat(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    qat.eval()
    qat.apply(tq.disable_observer)
    q = tq.convert(qat)
    assert isinstance(q[1], nn.intrinsic.quantized.LinearReLU)
    # the converted model computes what QAT simulated, up to a rounding step here and there
    assert np.median(np.abs(q(x).numpy() - qat(x).detach().numpy())) < 0.02


@pytest.mark.parametrize("per_channel", [False, True])
def test_quantized_state_dict_round_trips_through_safetensors(tmp_path, per_channel):
    lm = _cnn(tl, tq)
    lm.qconfig = tq.get_default_qconfig("x86") if per_channel else tq.default_qconfig
    p = tq.prepare(lm)
    x = tl.randn(8, 1, 8, 8)
    p(x)
    q = tq.convert(p)
    tl.save(q.state_dict(), tmp_path / "q.safetensors")
    state = tl.load(tmp_path / "q.safetensors")
    assert state["1._packed_params.weight"].dtype is tl.int8
    fresh = _cnn(tl, tq)
    fresh.qconfig = lm.qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rebuilt = tq.convert(tq.prepare(fresh))
    rebuilt.load_state_dict(state)
    np.testing.assert_array_equal(rebuilt(x).numpy(), q(x).numpy())


def test_int_matmul_splits_long_reductions_exactly():
    from torchlite.ao.quantization.int8_matmul import chunk_length, int_matmul

    rng = np.random.default_rng(0)
    a = rng.integers(-255, 256, (4, 3000)).astype(np.float32)
    b = rng.integers(-128, 128, (3000, 5)).astype(np.float32)
    want = a.astype(np.int64) @ b.astype(np.int64)
    assert chunk_length(255, 128) < 3000
    np.testing.assert_array_equal(int_matmul(np, a, b, 255, 128), want)


def test_int8_mlp_checkpoint_is_at_least_3_5x_smaller(tmp_path):
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    q = tq.quantize_dynamic(model, {nn.Linear})
    tl.save(model.state_dict(), tmp_path / "f.safetensors")
    tl.save(q.state_dict(), tmp_path / "q.safetensors")
    size = {n: (tmp_path / f"{n}.safetensors").stat().st_size for n in "fq"}
    assert size["f"] / size["q"] >= 3.5
    assert q[0]._packed_params.weight.dtype is tl.int8  # int8 in memory too


def test_dynamic_lstm_state_dict_round_trip_and_repr(tmp_path):
    lstm = nn.LSTM(5, 6, num_layers=2, bidirectional=True)
    q = tq.quantize_dynamic(nn.Sequential(lstm), {nn.LSTM})
    assert repr(q[0]) == "DynamicQuantizedLSTM(5, 6, num_layers=2, bidirectional=True)"
    tl.save(q.state_dict(), tmp_path / "l.safetensors")
    fresh = tq.quantize_dynamic(nn.Sequential(nn.LSTM(5, 6, num_layers=2, bidirectional=True)),
                                {nn.LSTM})
    fresh.load_state_dict(tl.load(tmp_path / "l.safetensors"))
    x = tl.randn(4, 3, 5)
    np.testing.assert_array_equal(fresh(x)[0].numpy(), q(x)[0].numpy())


def test_public_names_and_lazy_import():
    import subprocess
    import sys

    assert tl.quantization.quantize_dynamic is tq.quantize_dynamic
    assert tl.nn.quantized.dynamic.Linear is nn.quantized.dynamic.Linear
    assert tl.nn.intrinsic.qat.LinearReLU is tl.nn.qat.LinearReLU
    code = ("import sys, torchlite; torchlite.quantize_per_tensor; "
            "print(any(m.startswith(('torchlite.nn', 'torchlite.ao.quantization.observer')) "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr  # import torchlite stays light
