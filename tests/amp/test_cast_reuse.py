"""What autocast's casts keep and skip: a cached weight widens to the float32 array kept beside
it, a weight gradient rounded for its cast goes on as float32 without the low-precision array
when only one node uses the cast, and all of it gives the same bits as plain NumPy/ml_dtypes
casts (the reference runs with every shortcut turned off). These are the unfused ops' casts
(matmul, conv, ...), so linear's fusion (ops/half_linear.py) is off here except where a test
says otherwise; tests/amp/test_half_linear.py checks the fused node against them."""

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.amp import state
from torchlite.ops import half_compute, half_linear

pytest.importorskip("ml_dtypes", reason="bfloat16 needs the bf16 extra (ml_dtypes)")

LOW = ["bfloat16", "float16"]
N = 128  # 128 x 128 weights and 128-row batches: above every size the fast casts start at


@pytest.fixture(autouse=True)
def unfused_linear(monkeypatch):
    monkeypatch.setattr(half_linear, "ENABLED", False)


@pytest.fixture
def plain_casts(monkeypatch):
    """Turn the shortcuts off: NumPy's and ml_dtypes' casts everywhere, nothing kept."""
    def off():
        monkeypatch.setattr(half_compute, "_NARROW_MIN", {"e": 1 << 62, "E": 1 << 62})
        monkeypatch.setattr(half_compute, "_WIDEN_MIN", {"e": 1 << 62, "E": 1 << 62})
        monkeypatch.setattr(state, "_ONE_NODE", frozenset())
    return off


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint8).tobytes(), a.dtype, a.shape


def _model():
    torchlite.manual_seed(0)
    return nn.Sequential(nn.Linear(N, N), nn.ReLU(), nn.Linear(N, N), nn.ReLU(), nn.Linear(N, 10))


def _run(low, share: str):
    """Losses, outputs and float32 gradients of two steps of a model under autocast; `share`:
    'none', 'twice' (a layer applied twice in one region) or 'tied' (two layers, one weight)."""
    model = _model()
    if share == "tied":
        model[2].weight = model[0].weight
    rng = np.random.default_rng(1)
    x = torchlite.tensor(rng.standard_normal((N, N)).astype(np.float32))
    y = torchlite.tensor(rng.integers(0, 10, N))
    opt = torchlite.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    seen = []
    for _ in range(2):
        opt.zero_grad()
        with torchlite.autocast("cpu", dtype=getattr(torchlite, low)):
            h = model[1](model[0](x))
            if share == "twice":
                h = model[1](model[0](h))
            out = model[4](model[3](model[2](h)))
            loss = F.cross_entropy(out, y)
        loss.backward()
        seen.append(_bits(out.detach()._data))
        seen.append(_bits(loss.detach()._data))
        seen += [_bits(p.grad._data) for p in model.parameters()]
        opt.step()
    return seen


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("share", ["none", "twice", "tied"])
@pytest.mark.parametrize("low", LOW)
def test_shortcuts_give_the_plain_casts_bits(low, share, fused, plain_casts):
    half_linear.ENABLED = fused  # (the autouse fixture restores it)
    fast = _run(low, share)
    plain_casts()
    assert fast == _run(low, share)


@pytest.mark.parametrize("low", LOW)
def test_a_cached_weight_widens_to_its_kept_values(low):
    lin = nn.Linear(N, N)
    x = torchlite.randn(N, N)
    with torchlite.autocast("cpu", dtype=getattr(torchlite, low)):
        lin(x)
        cast = state.cache[id(lin.weight)][1]._data
        kept = half_compute.widen(cast)
        assert half_compute.widen(cast) is kept  # no conversion: the array kept for the region
        assert _bits(kept) == _bits(cast.astype(np.float32))
    assert not half_compute._twins  # dropped with the region's cache
    assert half_compute.widen(cast) is not kept


@pytest.mark.parametrize("low", LOW)
def test_a_lone_linear_hands_its_weight_gradient_on_as_float32(low):
    lin = nn.Linear(N, N)
    x = torchlite.randn(N, N)
    with torchlite.autocast("cpu", dtype=getattr(torchlite, low)):
        out = lin(x)
    node = state.cache.get(id(lin.weight))  # (the cache is gone after the region)
    assert node is None
    cast_node = out.grad_fn.next_edges[1][0]
    assert cast_node.fn is state.Cast and cast_node.sole_use
    out.float().sum().backward()
    assert lin.weight.grad.dtype == torchlite.float32


@pytest.mark.parametrize("low", LOW)
def test_a_second_use_of_a_cached_weight_clears_sole_use(low):
    lin = nn.Linear(N, N)
    x = torchlite.randn(N, N)
    with torchlite.autocast("cpu", dtype=getattr(torchlite, low)):
        first = lin(x)
        cast_node = first.grad_fn.next_edges[1][0]
        assert cast_node.sole_use
        lin(x)
        assert not cast_node.sole_use


def test_input_casts_are_kept_only_while_recent():
    lin = nn.Linear(N, N)
    with torchlite.autocast("cpu", dtype=torchlite.float16):
        for _ in range(3 * half_compute._RECENT):
            lin(torchlite.randn(N, N))  # a long region: an evaluation loop, say
        assert len(half_compute._twins) <= half_compute._RECENT + 1  # + the pinned weight
        weight_cast = state.cache[id(lin.weight)][1]._data
        assert id(weight_cast) in half_compute._twins
    assert not half_compute._twins and not half_compute._recent


def test_a_rounded_weight_gradient_becomes_the_leaf_gradient_without_a_copy(monkeypatch):
    """The float32 gradient rounded for a weight's cast is handed to the weight whole (the
    engine copies arrays that may be shared, and onnxruntime's outputs look like views): the
    leaf keeps that very array, a second backward adds to it, and clearing the gradient in
    place leaves the next backward's gradient untouched."""
    from torchlite.autograd import owned

    handed = []
    hand_over = owned.hand_over
    monkeypatch.setattr(half_compute, "hand_over", lambda a: handed.append(a) or hand_over(a))
    model = nn.Linear(N, N)
    x = torchlite.randn(N, N)
    with torchlite.autocast("cpu", dtype=torchlite.float16):
        y = model(x)
    y.float().square().sum().backward()
    first = model.weight.grad._data
    assert any(first is a for a in handed)
    kept = first.copy()

    def again():
        with torchlite.autocast("cpu", dtype=torchlite.float16):
            y = model(x)
        y.float().square().sum().backward()

    again()  # accumulates: the same gradient again (same weights, same input)
    np.testing.assert_array_equal(model.weight.grad._data, kept + kept)
    model.weight.grad = None
    again()
    handed_now = model.weight.grad._data
    assert handed_now is not first
    first *= 0  # the old array, written in place: the new gradient does not see it
    np.testing.assert_array_equal(handed_now, kept)


def test_only_marked_arrays_count_as_handed_over():
    from torchlite.autograd import owned

    a = np.arange(6.0).reshape(2, 3)  # a view of the arange
    assert not owned.is_handed_over(a)
    assert owned.hand_over(a) is a and owned.is_handed_over(a)
    assert not owned.is_handed_over(a.reshape(3, 2)) and not owned.is_handed_over(a.copy())
