"""A run of dynamically quantized Linears and ReLUs in a Sequential as one onnxruntime call
(nn/quantized/dynamic/chain.py, ao/quantization/dynamic_linear_ort.py): the same bits as
calling the modules in turn and as the float32-BLAS path, on ordinary and edge ranges, and
left alone wherever a module must be seen running on its own."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from torchlite import nn
from torchlite.ao.quantization import int8_matmul as im

pytest.importorskip("onnxruntime", reason="the chain runs on onnxruntime (the 'onnx' extra)")


@pytest.fixture
def chains(monkeypatch):
    """The number of layers of each onnxruntime run of dynamic Linears, as they run (1: a layer
    on its own); the kernel setting restored afterwards."""
    from torchlite.ao.quantization import dynamic_linear_ort as dl

    lengths, run, before = [], dl.run, im.get_int8_kernel()
    monkeypatch.setattr(dl, "run", lambda layers, *a: lengths.append(len(layers))
                        or run(layers, *a))
    yield lengths
    im.set_int8_kernel(before)


def _quantized(sizes, *, bias=True, last_relu=False, per_channel=(), reduce_range=True,
               seed=0):
    """A Sequential of dynamic Linears of `sizes` with ReLUs between them (and after the last
    with `last_relu`); layers whose index is in `per_channel` get per-channel weights."""
    rng = np.random.default_rng(seed)
    mods = []
    for i, (k, n) in enumerate(zip(sizes, sizes[1:])):
        layer = nn.quantized.dynamic.Linear(k, n, bias, per_channel=i in per_channel,
                                            reduce_range=reduce_range)
        w = tl.from_numpy(rng.standard_normal((n, k)).astype(np.float32))
        if i in per_channel:
            qw = tl.quantize_per_channel(w, tl.from_numpy(np.linspace(0.004, 0.02, n)),
                                         tl.zeros(n, dtype=tl.int64), 0, tl.qint8)
        else:
            qw = tl.quantize_per_tensor(w, 0.02, 0, tl.qint8)
        b = tl.from_numpy(rng.standard_normal(n).astype(np.float32)) if bias else None
        layer.set_weight_bias(qw, b)
        mods.append(layer)
        if i < len(sizes) - 2 or last_relu:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _one_by_one(model, x):
    for m in model:
        x = m(x)
    return x.numpy()


def _float_blas(model, x):
    im.set_int8_kernel("numpy")
    try:
        return model(x).numpy()
    finally:
        im.set_int8_kernel("auto")


CASES = [  # (sizes, options)
    ((784, 512, 256, 10), {}),
    ((20, 16, 8, 4), {"bias": False}),
    ((20, 16, 8), {"last_relu": True}),
    ((30, 12), {"last_relu": True}),
    ((20, 16, 8, 4), {"per_channel": (0, 2)}),
    ((20, 16, 8, 4), {"per_channel": (1,)}),
    ((20, 16, 8, 4), {"reduce_range": False}),
]


@pytest.mark.parametrize("sizes,options", CASES)
@pytest.mark.parametrize("batch", [(1,), (33,), (2, 5)])
def test_chain_gives_the_bits_of_the_layers_one_by_one(chains, sizes, options, batch):
    model = _quantized(sizes, **options)
    rng = np.random.default_rng(len(sizes) + batch[0])
    x = tl.from_numpy((3 * rng.standard_normal(batch + (sizes[0],)) + 0.5).astype(np.float32))
    got = model(x).numpy()
    assert chains == [len(sizes) - 1], "the layers did not run as one chain"
    assert got.shape == batch + (sizes[-1],)
    np.testing.assert_array_equal(got, _one_by_one(model, x))
    np.testing.assert_array_equal(got, _float_blas(model, x))


@pytest.mark.parametrize("threads", [1, 2])
def test_chain_bits_do_not_depend_on_the_thread_count(chains, threads):
    model = _quantized((784, 512, 256, 10))
    x = tl.from_numpy(np.random.default_rng(3).standard_normal((128, 784)).astype(np.float32))
    before = tl.get_num_threads()
    tl.set_num_threads(threads)
    try:
        got = model(x).numpy()
    finally:
        tl.set_num_threads(before)
    assert chains == [3]
    np.testing.assert_array_equal(got, _float_blas(model, x))


@pytest.mark.parametrize("hidden_scale,bias_shift", [
    (0.0, -1.0),   # every hidden unit 0 after the ReLU: PyTorch's scale 0.1
    (1e-7, 0.0),   # hidden values below 127 * 6.1e-5: the smallest scale, 6.1e-5
    (1e-3, 0.0),   # just above it
    (1e4, 0.0),    # large activations
])
def test_chain_finds_pytorchs_scale_for_edge_ranges_in_the_graph(chains, hidden_scale,
                                                                  bias_shift):
    """The second layer's input range decides its scale inside the graph (module doc of
    dynamic_linear_ort): zero, tiny, ordinary and huge ranges give the one-by-one bits."""
    rng = np.random.default_rng(5)
    first = nn.quantized.dynamic.Linear(8, 6)
    w = rng.standard_normal((6, 8)).astype(np.float32) * np.float32(hidden_scale)
    scale = max(float(np.abs(w).max()) / 127, 1e-12)
    first.set_weight_bias(tl.quantize_per_tensor(tl.from_numpy(w), scale, 0, tl.qint8),
                          tl.full((6,), bias_shift * hidden_scale if hidden_scale else -1.0))
    second = nn.quantized.dynamic.Linear(6, 3)
    second.set_weight_bias(tl.quantize_per_tensor(
        tl.from_numpy(rng.standard_normal((3, 6)).astype(np.float32)), 0.02, 0, tl.qint8),
        tl.from_numpy(rng.standard_normal(3).astype(np.float32)))
    model = nn.Sequential(first, nn.ReLU(), second)
    x = tl.from_numpy(rng.uniform(0, 2, (16, 8)).astype(np.float32))
    got = model(x).numpy()
    assert chains == [2]
    np.testing.assert_array_equal(got, _one_by_one(model, x))
    np.testing.assert_array_equal(got, _float_blas(model, x))


def test_hidden_units_all_zero_take_scale_one_tenth(chains):
    """With every hidden unit 0 the second layer sees x_scale 0.1 and zero point 0, so its
    output is its bias exactly."""
    first = nn.quantized.dynamic.Linear(4, 3)
    first.set_weight_bias(tl.quantize_per_tensor(tl.ones(3, 4), 0.01, 0, tl.qint8),
                          tl.full((3,), -100.0))
    second = nn.quantized.dynamic.Linear(3, 2)
    second.set_weight_bias(tl.quantize_per_tensor(tl.ones(2, 3), 0.01, 0, tl.qint8),
                           tl.tensor([0.25, -0.5]))
    out = nn.Sequential(first, nn.ReLU(), second)(tl.ones(5, 4)).numpy()
    assert chains == [2]
    np.testing.assert_array_equal(out, np.tile(np.float32([0.25, -0.5]), (5, 1)))


def test_a_hooked_module_breaks_the_chain_and_sees_its_input(chains):
    model = _quantized((20, 16, 8, 4))
    x = tl.from_numpy(np.random.default_rng(6).standard_normal((7, 20)).astype(np.float32))
    whole = model(x).numpy()
    seen = []
    handle = model[3].register_forward_hook(lambda m, args, out: seen.append(out.numpy()))
    chains.clear()
    got = model(x).numpy()
    handle.remove()
    # the hook on the second ReLU ends the chain there: Linear, ReLU, Linear run as one,
    # then the hooked ReLU and the last Linear (a lone layer's own one-layer run) on their own
    assert chains == [2, 1]
    assert len(seen) == 1 and seen[0].shape == (7, 8) and (seen[0] >= 0).all()
    np.testing.assert_array_equal(got, whole)
    np.testing.assert_array_equal(seen[0], _one_by_one(model[:4], x))


def test_a_global_hook_or_a_replaced_forward_runs_modules_one_by_one(chains):
    model = _quantized((20, 16, 8, 4))
    x = tl.from_numpy(np.random.default_rng(7).standard_normal((3, 20)).astype(np.float32))
    whole = model(x).numpy()
    chains.clear()
    calls = []
    handle = nn.modules.module.register_module_forward_hook(
        lambda m, args, out: calls.append(type(m).__name__))
    try:
        got = model(x).numpy()
    finally:
        handle.remove()
    assert calls.count("ReLU") == 2 and calls.count("Linear") == 3
    assert chains == [1, 1, 1]  # each layer its own one-layer run
    np.testing.assert_array_equal(got, whole)
    chains.clear()
    model[1].forward = lambda t: t * 0  # an instance's own forward is honoured
    assert (model[:2](x).numpy() == 0).all()
    assert chains == [1]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_left_to_the_layers_and_gives_nan(chains, bad):
    """A NaN or infinite input has no finite range to quantize with: NaN everywhere (as the
    quantization parameters themselves are undefined), never a rounding error."""
    model = _quantized((20, 16, 8, 4))
    x = np.random.default_rng(8).standard_normal((4, 20)).astype(np.float32)
    x[1, 3] = bad
    got = model(tl.from_numpy(x)).numpy()
    assert np.isnan(got).all()
    assert not chains
    np.testing.assert_array_equal(model[0](tl.from_numpy(x)).numpy(), np.full((4, 16), np.nan))


def test_a_replaced_later_weight_is_used_by_the_next_call(chains):
    model = _quantized((20, 16, 8, 4))
    x = tl.from_numpy(np.random.default_rng(9).standard_normal((5, 20)).astype(np.float32))
    before = model(x).numpy()
    rng = np.random.default_rng(10)
    model[4].set_weight_bias(tl.quantize_per_tensor(
        tl.from_numpy(rng.standard_normal((4, 8)).astype(np.float32)), 0.03, 0, tl.qint8),
        None)
    after = model(x).numpy()
    assert chains == [3, 3]
    assert not np.array_equal(after, before)
    np.testing.assert_array_equal(after, _one_by_one(model, x))


def test_mismatched_features_raise_the_layers_own_error(chains):
    model = _quantized((20, 16, 8))
    with pytest.raises(RuntimeError, match="input has 19 features, expected 20"):
        model(tl.zeros(2, 19))
    assert not chains
