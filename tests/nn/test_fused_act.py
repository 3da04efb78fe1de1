"""Sequential runs a Linear or Conv2d and the activation after it as one node.

The fused node must give what the two modules give when called one by one: bit for bit on the
CPU, and (with the bias_act kernels' NumPy references standing in for the kernels, as on the
GPU) to rounding. It must step aside wherever fusing could change what a user sees: hooks, a
subclass or an instance with its own forward, activations the device does not fuse.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import torchlite
import torchlite.nn.functional as F
from torchlite import nn
from torchlite._cuda_kernels import activation as kernels
from torchlite.autograd.gradcheck import gradcheck
from torchlite.nn.functional.conv import Conv2dOp, conv2d_act
from torchlite.nn.functional.fused_act import LinearAct
from torchlite.nn.modules.module import register_module_forward_hook

fa_module = importlib.import_module("torchlite.nn.functional.fused_act")


def _x(shape, dtype=np.float32, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return torchlite.tensor(data, requires_grad=True)


def _one_by_one(modules, x):
    for m in modules:
        x = m(x)
    return x


def _run(f, modules, x):
    """Output and the gradients of x and every parameter after backward of a fixed weighting."""
    for m in modules:
        m.zero_grad()
    x.grad = None
    y = f(x)
    dtype = y.detach().numpy().dtype
    w = torchlite.tensor(np.linspace(-1, 1, y.numel(), dtype=dtype).reshape(y.shape))
    (y * w).sum().backward()
    grads = [p.grad.numpy().copy() for m in modules for p in m.parameters()]
    return y.detach().numpy().copy(), x.grad.numpy().copy(), grads, y.grad_fn


def _fused_node(grad_fn) -> bool:
    if grad_fn is None:
        return False
    return grad_fn.fn is LinearAct or (grad_fn.fn is Conv2dOp and grad_fn.act is not None)


def _assert_same(got, ref):
    for r, g in zip(ref[:2] + tuple(ref[2]), got[:2] + tuple(got[2])):
        np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("shape", [(6, 5), (1, 5), (2, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("inplace", [False, True])
def test_cpu_relu_is_fused_and_bitwise_equal(shape, bias, inplace):
    torchlite.manual_seed(0)
    mods = [nn.Linear(5, 4, bias=bias), nn.ReLU(inplace=inplace), nn.Linear(4, 3)]
    seq = nn.Sequential(*mods)
    x = _x(shape)
    ref = _run(lambda t: _one_by_one(mods, t), mods, x)
    got = _run(seq, mods, x)
    _assert_same(got, ref)
    assert _fused_node(seq[:2](x).grad_fn)
    assert not _fused_node(_one_by_one(mods[:2], x).grad_fn)


_CONVS = [dict(), dict(padding=1), dict(padding="same", bias=False), dict(stride=2, padding=2),
          dict(padding=1, padding_mode="reflect"), dict(dilation=2, groups=2),
          dict(padding="same", kernel_size=4)]


@pytest.mark.parametrize("kw", _CONVS)
@pytest.mark.parametrize("batched", [True, False])
def test_cpu_conv_relu_is_fused_and_bitwise_equal(kw, batched):
    torchlite.manual_seed(0)
    kw = {"kernel_size": 3, **kw}
    mods = [nn.Conv2d(4, 6, **kw), nn.ReLU(), nn.Conv2d(6, 2, 1)]
    seq = nn.Sequential(*mods)
    x = _x((2, 4, 7, 8) if batched else (4, 7, 8))
    ref = _run(lambda t: _one_by_one(mods, t), mods, x)
    got = _run(seq, mods, x)
    _assert_same(got, ref)
    if batched:
        assert _fused_node(seq[:2](x).grad_fn)
        assert not _fused_node(mods[0](x).grad_fn)


def test_relu_edge_values_match_the_modules():
    # -inf -> 0, NaN stays NaN, exactly 0 gets gradient 0 (as ops.unary.Relu and PyTorch)
    lin = nn.Linear(3, 3)
    with torchlite.no_grad():
        lin.weight.copy_(torchlite.eye(3))
        lin.bias.zero_()
    x = torchlite.tensor([[float("-inf"), float("nan"), 0.0], [1.0, -2.0, 3.0]],
                         requires_grad=True)
    seq = nn.Sequential(lin, nn.ReLU())
    ref = _run(lambda t: nn.ReLU()(lin(t)), [lin], x)
    got = _run(seq, [lin], x)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    assert _fused_node(got[3])


def test_gradcheck_float64():
    torchlite.manual_seed(1)
    x = _x((4, 3), np.float64, seed=1)
    w = _x((5, 3), np.float64, seed=2)
    b = _x((5,), np.float64, seed=3)
    assert gradcheck(lambda a, c, d: fa_module.linear_act(a, c, d, "relu"), (x, w, b))
    assert gradcheck(lambda a, c: fa_module.linear_act(a, c, None, "relu"), (x, w))
    xc = _x((2, 2, 5, 4), np.float64, seed=4)
    wc = _x((3, 2, 3, 3), np.float64, seed=5)
    bc = _x((3,), np.float64, seed=6)
    assert gradcheck(lambda a, c, d: conv2d_act(a, c, d, (1, 1), (1, 1), (1, 1), 1, "relu"),
                     (xc, wc, bc))
    assert gradcheck(lambda a, c: conv2d_act(a, c, None, (2, 1), (0, 1), (1, 1), 1, "relu"),
                     (xc, wc))


def test_no_grad_and_frozen_parameters():
    torchlite.manual_seed(0)
    seq = nn.Sequential(nn.Linear(5, 4), nn.ReLU())
    x = _x((3, 5))
    with torchlite.no_grad():
        y = seq(x)
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), nn.ReLU()(seq[0](x)).detach().numpy())
    seq[0].weight.requires_grad_(False)
    seq(x).sum().backward()
    assert seq[0].weight.grad is None and seq[0].bias.grad is not None and x.grad is not None


class _DoubleReLU(nn.ReLU):
    def forward(self, input):
        return super().forward(input) * 2


def test_modules_with_hooks_or_their_own_forward_run_one_by_one():
    torchlite.manual_seed(0)
    x = _x((3, 5))

    seq = nn.Sequential(nn.Linear(5, 4), nn.ReLU())
    seen = []
    handle = seq[0].register_forward_hook(lambda m, a, out: seen.append(out.shape))
    assert not _fused_node(seq(x).grad_fn) and seen == [torchlite.Size([3, 4])]
    handle.remove()
    handle = seq[1].register_forward_pre_hook(lambda m, a: seen.append("pre"))
    assert not _fused_node(seq(x).grad_fn) and seen[-1] == "pre"
    handle.remove()
    handle = register_module_forward_hook(lambda m, a, out: None)
    try:
        assert not _fused_node(seq(x).grad_fn)
    finally:
        handle.remove()
    assert _fused_node(seq(x).grad_fn)

    # a subclass's forward is honoured
    seq2 = nn.Sequential(seq[0], _DoubleReLU())
    np.testing.assert_array_equal(seq2(x).detach().numpy(),
                                  2 * F.relu(seq[0](x)).detach().numpy())
    # so is a forward replaced on the instance
    relu = nn.ReLU()
    relu.forward = lambda input: input - 1
    np.testing.assert_array_equal(nn.Sequential(seq[0], relu)(x).detach().numpy(),
                                  (seq[0](x) - 1).detach().numpy())


class _DoubleLinear(nn.Linear):
    def forward(self, input):
        return super().forward(input) * 2


def test_layer_subclasses_and_patched_classes_run_as_written(monkeypatch):
    torchlite.manual_seed(0)
    x = _x((3, 5))
    lin = _DoubleLinear(5, 4)
    y = nn.Sequential(lin, nn.ReLU())(x)
    assert not _fused_node(y.grad_fn)
    np.testing.assert_array_equal(y.detach().numpy(),
                                  F.relu(2 * F.linear(x, lin.weight, lin.bias)).detach().numpy())
    seq = nn.Sequential(nn.Linear(5, 4), nn.ReLU())
    monkeypatch.setattr(nn.ReLU, "forward", lambda self, input: input + 100)
    np.testing.assert_array_equal(seq(x).detach().numpy(), (seq[0](x) + 100).detach().numpy())
    monkeypatch.undo()
    monkeypatch.setattr(nn.Linear, "forward", lambda self, input: input[..., :4] * 0 - 1)
    np.testing.assert_array_equal(seq(x).detach().numpy(), np.zeros((3, 4), np.float32))


@pytest.mark.parametrize("conv", [False, True], ids=["linear", "conv2d"])
def test_integer_layers_keep_the_activations_error(conv):
    layer = nn.Conv2d(2, 3, 1) if conv else nn.Linear(3, 2)
    for name in ("weight", "bias"):
        p = getattr(layer, name)
        setattr(layer, name, nn.Parameter(torchlite.tensor(np.ones(p.shape, np.int64)),
                                          requires_grad=False))
    x = torchlite.tensor(np.arange(12).reshape((1, 2, 2, 3) if conv else (4, 3)))
    with pytest.raises(RuntimeError, match="floating-point") as unfused:
        nn.ReLU()(layer(x))
    with pytest.raises(RuntimeError, match="floating-point") as fused:
        nn.Sequential(layer, nn.ReLU())(x)
    assert str(fused.value) == str(unfused.value)


@pytest.mark.parametrize("conv", [False, True], ids=["linear", "conv2d"])
def test_changing_the_output_in_place_before_backward_is_refused(conv):
    torchlite.manual_seed(0)
    layer = nn.Conv2d(2, 3, 3) if conv else nn.Linear(3, 2)
    x = _x((1, 2, 4, 4) if conv else (4, 3))
    seq = nn.Sequential(layer, nn.ReLU())
    for f in (lambda t: nn.ReLU()(layer(t)), seq):
        y = f(x)
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    assert _fused_node(seq(x).grad_fn)


def test_no_grad_and_unbatched_inputs_are_fused_too(monkeypatch):
    calls = []
    real = fa_module.bias_act
    monkeypatch.setattr(fa_module, "bias_act", lambda *a: calls.append(a[2]) or real(*a))
    conv_module = importlib.import_module("torchlite.nn.functional.conv")
    monkeypatch.setattr(conv_module, "bias_act", fa_module.bias_act)
    torchlite.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU())
    lin = nn.Sequential(nn.Linear(5, 4), nn.ReLU())
    xc, xl = _x((2, 5, 5)), _x((5,))
    for seq, x in ((conv, xc), (lin, xl)):
        with torchlite.no_grad():
            y = seq(x)
        np.testing.assert_array_equal(y.numpy(), nn.ReLU()(seq[0](x)).detach().numpy())
    assert calls == ["relu", "relu"]


@pytest.mark.parametrize("act", [nn.Sigmoid(), nn.Tanh(), nn.SiLU(), nn.GELU(),
                                 nn.LeakyReLU()])
def test_cpu_fuses_only_relu(act):
    seq = nn.Sequential(nn.Linear(5, 4), act)
    x = _x((3, 5))
    y = seq(x)
    assert not _fused_node(y.grad_fn)
    np.testing.assert_array_equal(y.detach().numpy(), act(seq[0](x)).detach().numpy())


def test_linear_act_checks_its_arguments():
    x, w = _x((3, 5)), _x((4, 5))
    with pytest.raises(ValueError, match="'sigmoid' is not fused"):
        fa_module.linear_act(x, w, None, "sigmoid")
    with pytest.raises(ValueError, match="'softplus' is not fused"):
        fa_module.linear_act(x, w, None, "softplus")
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        fa_module.linear_act(_x((3, 4)), w, None, "relu")
    with pytest.raises(RuntimeError, match="cannot be multiplied"):  # the same error unfused
        nn.Sequential(nn.Linear(5, 4), nn.ReLU())(_x((3, 4)))
    with pytest.raises(ValueError, match="conv2d_act: activation 'tanh' is not fused"):
        conv2d_act(_x((1, 2, 4, 4)), _x((3, 2, 3, 3)), None, 1, 0, 1, 1, "tanh")


# -- the GPU path, with the kernels' references standing in for the kernels -------------------

_GPU_ACTS = [("relu", nn.ReLU()), ("sigmoid", nn.Sigmoid()), ("tanh", nn.Tanh()),
             ("silu", nn.SiLU()), ("gelu", nn.GELU()), ("gelu_tanh", nn.GELU("tanh"))]


@pytest.fixture
def kernel_refs(monkeypatch):
    calls = []

    class Refs:
        @staticmethod
        def bias_act(y, b=None, act=None, out=None):
            calls.append(("fwd", act))
            return kernels.bias_act_reference(y, b, act, out)

        @staticmethod
        def bias_act_grad(g, saved, act=None):
            calls.append(("bwd", act))
            return kernels.bias_act_grad_reference(g, saved, act)

    monkeypatch.setattr(fa_module, "_kernels", lambda: Refs)
    return monkeypatch, calls


@pytest.mark.parametrize("name,act", _GPU_ACTS, ids=[a for a, _ in _GPU_ACTS])
@pytest.mark.parametrize("bias", [True, False])
def test_kernel_path_matches_the_modules(name, act, bias, kernel_refs):
    monkeypatch, calls = kernel_refs
    torchlite.manual_seed(0)
    mods = [nn.Linear(5, 4, bias=bias).double(), act, nn.Linear(4, 3).double()]
    x = _x((2, 3, 5), np.float64)
    ref = _run(lambda t: _one_by_one(mods, t), mods, x)
    monkeypatch.setattr(fa_module, "_use_kernel", lambda a: a.dtype == np.float64)
    got = _run(nn.Sequential(*mods), mods, x)
    assert calls == [("fwd", name), ("bwd", name)]
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-14)
    for g, r in zip(got[2], ref[2]):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,act", _GPU_ACTS, ids=[a for a, _ in _GPU_ACTS])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_kernel_path_matches_the_modules(name, act, bias, kernel_refs):
    monkeypatch, calls = kernel_refs
    torchlite.manual_seed(0)
    mods = [nn.Conv2d(3, 4, 3, padding=1, bias=bias).double(), act, nn.Conv2d(4, 2, 1).double()]
    x = _x((2, 3, 5, 6), np.float64)
    ref = _run(lambda t: _one_by_one(mods, t), mods, x)
    monkeypatch.setattr(fa_module, "_use_kernel", lambda a: a.dtype == np.float64)
    got = _run(nn.Sequential(*mods), mods, x)
    assert calls == [("fwd", name), ("bwd", name)]
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-14)
    for g, r in zip(got[2], ref[2]):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-13)


def test_kernel_path_leaves_other_dtypes_unfused(kernel_refs):
    monkeypatch, calls = kernel_refs
    monkeypatch.setattr(fa_module, "_use_kernel", lambda a: a.dtype == np.float64)
    seq = nn.Sequential(nn.Linear(5, 4), nn.Sigmoid())  # float32: not "on the GPU" here
    assert not _fused_node(seq(_x((3, 5))).grad_fn) and calls == []
    # a bias of another dtype is refused, as PyTorch refuses it, before any kernel runs
    for layer, x in ((nn.Linear(5, 4).double(), _x((3, 5), np.float64)),
                     (nn.Conv2d(2, 3, 1).double(), _x((1, 2, 3, 3), np.float64))):
        layer.bias = nn.Parameter(layer.bias.detach().float())
        with pytest.raises(RuntimeError, match="bias"):
            nn.Sequential(layer, nn.Sigmoid())(x)
        assert calls == []


@pytest.mark.parametrize("name,act", _GPU_ACTS, ids=[a for a, _ in _GPU_ACTS])
@pytest.mark.parametrize("conv", [False, True], ids=["linear", "conv2d"])
def test_on_device_matches_cpu(device, name, act, conv):
    """On a GPU the pair runs through the bias_act kernels; the CPU modules are the reference."""
    torchlite.manual_seed(0)
    if conv:
        mods = [nn.Conv2d(3, 5, 3, padding=1), act, nn.Conv2d(5, 2, 1)]
        x = _x((2, 3, 6, 6))
    else:
        mods = [nn.Linear(6, 5), act, nn.Linear(5, 2)]
        x = _x((4, 6))
    ref = _run(lambda t: _one_by_one(mods, t), mods, x)
    for m in mods:
        m.zero_grad()
    seq = nn.Sequential(*mods).to(device)
    xd = x.detach().to(device).requires_grad_()
    y = seq(xd)
    assert _fused_node(seq[:2](xd).grad_fn) == (device == "cuda" or name == "relu")
    y.backward(torchlite.tensor(
        np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(y.shape)).to(device))
    np.testing.assert_allclose(y.detach().cpu().numpy(), ref[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xd.grad.cpu().numpy(), ref[1], rtol=1e-5, atol=1e-6)
    got = [p.grad.cpu().numpy() for m in mods for p in m.parameters()]
    for g, r in zip(got, ref[2]):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)
