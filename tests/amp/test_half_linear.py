"""linear (+ ReLU) under CPU autocast as one node (ops/half_linear.py): the outputs and every
gradient bit for bit those of the unfused ops (casts, the float32-computed product, ReLU), for
single, repeated and tied uses of a weight, and the cases that must stay unfused."""

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.amp import state
from torchlite.ops import half_linear

pytest.importorskip("ml_dtypes", reason="bfloat16 needs the bf16 extra (ml_dtypes)")

LOW = ["float16", "bfloat16"]


@pytest.fixture
def applied(monkeypatch):
    """How many HalfLinear nodes ran forward; the switch restored afterwards."""
    calls = []
    forward = half_linear.HalfLinear.forward
    monkeypatch.setattr(half_linear.HalfLinear, "forward",
                        staticmethod(lambda *a: calls.append(1) or forward(*a)))
    yield calls
    half_linear.ENABLED = True


def _bits(t):
    a = np.ascontiguousarray(t._data if hasattr(t, "_data") else t)
    return a.dtype, a.shape, a.view(np.uint8).tobytes()


def _both(fn):
    """fn() with the fusion off, then on: (unfused result, fused result)."""
    half_linear.ENABLED = False
    try:
        plain = fn()
    finally:
        half_linear.ENABLED = True
    return plain, fn()


def _layer_case(low, bias, relu, in_low, shape, n_out, seed):
    """Output and input/weight/bias gradients of one linear (and ReLU) under autocast."""
    rng = np.random.default_rng(seed)
    w = torchlite.tensor(rng.standard_normal((n_out, shape[-1])).astype(np.float32) * 0.3,
                         requires_grad=True)
    b = torchlite.tensor(rng.standard_normal(n_out).astype(np.float32),
                         requires_grad=True) if bias else None
    x0 = torchlite.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    dt = getattr(torchlite, low)
    with torchlite.autocast("cpu", dtype=dt):
        x = x0.to(dt) if in_low else x0
        out = (nn.Sequential(_Holder(w, b), nn.ReLU()) if relu else _Holder(w, b))(x)
    assert out.dtype == dt
    gout = torchlite.tensor(rng.standard_normal(out.shape).astype(np.float32)).to(dt)
    out.backward(gout)
    return [_bits(out.detach())] + [_bits(t.grad) for t in (x0, w, b) if t is not None]


class _Holder(nn.Linear):
    """nn.Linear over given tensors (so both runs share the exact weights)."""

    def __init__(self, w, b):
        nn.Module.__init__(self)
        self.in_features, self.out_features = w.shape[1], w.shape[0]
        self.weight, self.bias = w, b


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("in_low", [False, True])
@pytest.mark.parametrize("shape,n_out", [((5, 7), 3), ((2, 3, 130), 140), ((128, 96), 160)])
def test_one_layer_gives_the_unfused_bits(applied, low, bias, relu, in_low, shape, n_out):
    seed = shape[-1] + n_out + bias + 2 * relu
    plain, fused = _both(lambda: _layer_case(low, bias, relu, in_low, shape, n_out, seed))
    assert applied, "the fused node did not run"
    assert fused == plain


def _training(low, share, steps=3):
    """Outputs and weights over a few mixed-precision SGD steps with a GradScaler; `share`:
    'none', 'twice' (a layer applied twice in one region), 'tied' (two layers, one weight)."""
    torchlite.manual_seed(0)
    model = nn.Sequential(nn.Linear(96, 96), nn.ReLU(), nn.Linear(96, 96), nn.ReLU(),
                          nn.Linear(96, 10))
    if share == "tied":
        model[2].weight = model[0].weight
    rng = np.random.default_rng(1)
    x = torchlite.tensor(rng.standard_normal((64, 96)).astype(np.float32))
    y = torchlite.tensor(rng.integers(0, 10, 64))
    opt = torchlite.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torchlite.amp.GradScaler("cpu", enabled=low == "float16")
    seen = []
    for _ in range(steps):
        opt.zero_grad()
        with torchlite.autocast("cpu", dtype=getattr(torchlite, low)):
            h = model[:2](x)
            if share == "twice":
                h = model[:2](h)
            out = model[2:](h)
            loss = F.cross_entropy(out, y)
        scaler.scale(loss).backward()
        seen += [_bits(out.detach())] + [_bits(p.grad) for p in model.parameters()]
        scaler.step(opt)
        scaler.update()
    return seen + [_bits(p.detach()) for p in model.parameters()]


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("share", ["none", "twice", "tied"])
def test_training_steps_give_the_unfused_bits(applied, low, share):
    """Repeated and tied weights too: their second use moves the fused nodes onto one shared
    cast, so the uses' gradients add up in the low dtype, as PyTorch's shared cast does."""
    plain, fused = _both(lambda: _training(low, share))
    assert applied
    assert fused == plain


@pytest.mark.parametrize("mm_first", [True, False])
def test_a_weight_also_cast_by_another_op_shares_one_cast(applied, mm_first):
    """mm casts (and caches) the weight. First: the linear takes the unfused ops and shares
    that cast. Second: the fused node's edge moves onto the cast mm makes. Either way the
    bits are the unfused ops'."""
    lin = nn.Linear(8, 4)
    x = torchlite.randn(3, 8)

    def run():
        lin.zero_grad()
        with torchlite.autocast("cpu", dtype=torchlite.float16):
            parts = [lambda: torchlite.mm(lin.weight, x.t()).t(), lambda: lin(x)]
            a, b = (f() for f in (parts if mm_first else parts[::-1]))
            assert id(lin.weight) in state.cache
            out = a + b
        out.float().sum().backward()
        return _bits(out.detach()), _bits(lin.weight.grad), _bits(lin.bias.grad)

    plain, fused = _both(run)
    assert bool(applied) is not mm_first
    assert fused == plain


def test_hooks_keep_the_modules_apart(applied):
    model = nn.Sequential(nn.Linear(8, 6), nn.ReLU())
    seen = []
    model[0].register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    with torchlite.autocast("cpu", dtype=torchlite.bfloat16):
        out = model(torchlite.randn(2, 8))
    # the Linear ran alone (its hook saw its output); F.linear fused it without the ReLU
    assert seen == [torchlite.bfloat16] and out.dtype == torchlite.bfloat16
    assert len(applied) == 1


def test_without_the_region_cache_and_outside_autocast(applied):
    lin = nn.Linear(8, 4)
    x = torchlite.randn(3, 8)
    with torchlite.autocast("cpu", dtype=torchlite.float16, cache_enabled=False):
        lin(x)
        lin(x)
        assert not state.rounded
    assert len(applied) == 2
    applied.clear()
    assert lin(x).dtype == torchlite.float32 and not applied
    with torchlite.autocast("cpu", dtype=torchlite.float16):
        lin(x)
        assert id(lin.weight) in state.rounded
    assert not state.rounded  # dropped with the region


def test_second_derivatives_run_through_the_fused_node(applied):
    """A graph of the backward pass (create_graph) through the fused node: its first
    derivative is the plain backward's, bit for bit, and the second one is float32's to
    float16 rounding. (The unfused ops' float32 variants cannot build that graph.)"""
    rng = np.random.default_rng(3)
    ws = rng.standard_normal((5, 6)).astype(np.float32)
    xs = rng.standard_normal((4, 6)).astype(np.float32)

    def run(create_graph, autocast=True):
        w = torchlite.tensor(ws, requires_grad=True)
        x = torchlite.tensor(xs, requires_grad=True)
        with torchlite.autocast("cpu", dtype=torchlite.float16, enabled=autocast):
            out = F.linear(x, w)
        (gx,) = torchlite.autograd.grad(out.float().pow(2).sum(), x, create_graph=create_graph)
        if create_graph:
            gx.sum().backward()
        return gx.detach(), w.grad

    gx, wgrad = run(True)
    assert applied
    assert _bits(gx) == _bits(run(False)[0])
    gx32, wgrad32 = run(True, autocast=False)
    np.testing.assert_allclose(gx.numpy(), gx32.numpy(), rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(wgrad.numpy(), wgrad32.numpy(), rtol=1e-2, atol=2e-2)


def test_a_region_without_a_graph_keeps_fusing(applied):
    """An evaluation loop in one region under no_grad: every batch takes the fused node (there
    are no gradients to add up, so nothing moves onto a shared cast)."""
    lin = nn.Linear(8, 4)
    with torchlite.no_grad(), torchlite.autocast("cpu", dtype=torchlite.bfloat16):
        outs = [lin(torchlite.randn(3, 8)) for _ in range(4)]
        assert id(lin.weight) not in state.cache
    assert len(applied) == 4 and all(o.dtype == torchlite.bfloat16 for o in outs)
