"""GradScaler: scales, skipped steps and state as PyTorch's, with infs and NaNs injected."""

import math
import warnings

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
from torchlite.amp import GradScaler

# step -> what to inject into the gradient of the first parameter
BAD = {2: math.inf, 3: math.nan, 9: -math.inf, 10: math.inf, 11: math.nan}


def _run(lib, steps=24, **kw):
    """Scales before each step, which steps moved the weights, final weights, state dict."""
    rng = np.random.default_rng(0)
    w = lib.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    b = lib.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    opt = lib.optim.SGD([w, b], lr=0.1)
    scaler = (lib.amp.GradScaler("cpu", **kw))
    scales, stepped = [], []
    for i in range(steps):
        x = lib.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        opt.zero_grad()
        loss = ((x @ w.T + b) ** 2).mean()
        scaler.scale(loss).backward()
        if i in BAD:
            w.grad[0, 0] = BAD[i]
        before = w.detach().clone()
        scales.append(scaler.get_scale())
        scaler.step(opt)
        scaler.update()
        stepped.append(not bool((w.detach() == before).all()))
    return scales + [scaler.get_scale()], stepped, w.detach().numpy(), scaler.state_dict()


@pytest.mark.parity
@pytest.mark.parametrize("kw", [{}, {"init_scale": 8.0, "growth_interval": 3},
                                {"init_scale": 2.0 ** 127, "growth_interval": 1,
                                 "growth_factor": 4.0, "backoff_factor": 0.25}], ids=str)
def test_scales_and_skipped_steps_match_pytorch(kw):
    torch = pytest.importorskip("torch")
    mine, theirs = _run(torchlite, **kw), _run(torch, **kw)
    assert mine[0] == theirs[0]  # the scales, exactly (float32 arithmetic)
    assert mine[1] == theirs[1]
    assert not any(mine[1][i] for i in BAD)
    np.testing.assert_allclose(mine[2], theirs[2], rtol=1e-5, atol=1e-6)
    assert mine[3] == theirs[3]


def test_backoff_and_growth():
    s = GradScaler("cpu", init_scale=16.0, growth_interval=2)
    p = nn.Parameter(torchlite.ones(2))
    opt = torchlite.optim.SGD([p], lr=1.0)
    seq = []
    for bad in (False, True, False, False, False):
        opt.zero_grad()
        s.scale((p * 2).sum()).backward()
        if bad:
            p.grad[0] = float("nan")
        s.step(opt)
        s.update()
        seq.append(s.get_scale())
    assert seq == [16.0, 8.0, 8.0, 16.0, 16.0]
    np.testing.assert_allclose(p.detach().numpy(), [1 - 2 * 4] * 2)  # unscaled grads: 2 each


def test_unscale_divides_grads_and_order_is_checked():
    s = GradScaler("cpu", init_scale=4.0)
    p = nn.Parameter(torchlite.ones(2))
    opt = torchlite.optim.SGD([p], lr=1.0)
    s.scale(p.sum() * 3).backward()
    assert p.grad.tolist() == [12.0, 12.0]
    s.unscale_(opt)
    assert p.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        s.unscale_(opt)
    s.update()
    with pytest.raises(RuntimeError, match="Closure"):
        s.step(opt, closure=lambda: 0)


def test_state_dict_round_trip_and_disabled():
    s = GradScaler("cpu", init_scale=32.0, growth_interval=7)
    s.load_state_dict({"scale": 4.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                       "growth_interval": 5, "_growth_tracker": 2})
    assert s.state_dict() == {"scale": 4.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                              "growth_interval": 5, "_growth_tracker": 2}
    off = GradScaler("cpu", enabled=False)
    loss = torchlite.ones(())
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(RuntimeError, match="empty"):
        GradScaler("cpu").load_state_dict({})


def test_cuda_scaler_without_a_gpu_disables_itself():
    if torchlite.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = torchlite.amp.GradScaler()
    assert not s.is_enabled()
    from torchlite.cuda.amp import GradScaler as CudaGradScaler

    with pytest.warns(UserWarning):
        assert not CudaGradScaler().is_enabled()


def test_scale_keeps_low_precision_outputs_and_lists():
    s = GradScaler("cpu", init_scale=2.0)
    h = torchlite.ones(3, dtype=torchlite.float16)
    assert s.scale(h).dtype == torchlite.float16
    out = s.scale([torchlite.ones(()), (torchlite.ones(2),)])
    assert out[0].item() == 2.0 and out[1][0].tolist() == [2.0, 2.0]


def test_a_growth_that_would_overflow_keeps_the_scale_without_a_numpy_warning():
    # the growth is computed, then dropped when not finite: NumPy's overflow warning there
    # would reach the user (PyTorch says nothing)
    w = torchlite.tensor([1.0], requires_grad=True)
    opt = torchlite.optim.SGD([w], lr=0.0)
    scaler = GradScaler("cpu", init_scale=1e38, growth_factor=4.0, growth_interval=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        scaler.scale((w * 1.0).sum()).backward()
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() == float(np.float32(1e38))


def test_a_scaled_loss_that_overflows_skips_the_step_without_a_numpy_warning():
    w = torchlite.tensor([1.0], requires_grad=True)
    opt = torchlite.optim.SGD([w], lr=1.0)
    scaler = GradScaler("cpu", init_scale=1e38, backoff_factor=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        scaled = scaler.scale((w * 10.0).sum())  # 1e39: inf in float32
    assert scaled.item() == math.inf
    with warnings.catch_warnings():  # the backward of an inf loss is not GradScaler's to quiet
        warnings.simplefilter("ignore", RuntimeWarning)
        scaled.backward()
    scaler.step(opt)
    scaler.update()
    assert w.item() == 1.0 and scaler.get_scale() == float(np.float32(1e38) * np.float32(0.5))


@pytest.mark.parametrize("values,bad", [
    ([1.0, -2.0, 3.0], False),
    ([3e38, 3e38, 3e38], False),  # the sum overflows; every element is finite
    ([1.0, float("inf")], True),
    ([float("-inf"), float("inf")], True),
    ([1.0, float("nan")], True),
    ([], False),
])
def test_non_finite_check_is_exact(values, bad):
    from torchlite.amp.grad_scaler import _non_finite

    arr = np.array(values, dtype=np.float32)
    assert bool(_non_finite(np, arr)) is bad
