"""Adafactor: one step computed by hand from the paper's formulas (vector and factored matrix
second moments, relative step size, update clipping), validation, state layout, and PyTorch
parity over a trajectory."""

import math

import numpy as np
import pytest

import torchlite
from torchlite import nn

T = torchlite.tensor


def test_first_step_follows_the_formulas():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    v0 = rng.standard_normal(4)
    gw, gv = rng.standard_normal((3, 4)), rng.standard_normal(4)
    w = nn.Parameter(T(w0, dtype=torchlite.float64))
    v = nn.Parameter(T(v0, dtype=torchlite.float64))
    opt = torchlite.optim.Adafactor([w, v], lr=0.05)
    w.grad, v.grad = T(gw, dtype=torchlite.float64), T(gv, dtype=torchlite.float64)
    opt.step()
    eps1, eps2 = np.finfo(np.float64).eps, 1e-3
    rho = min(0.05, 1.0)  # step 1: beta2-hat = 1, so the moments are this step's g^2
    for p0, g, got in ((v0, gv, v), (w0, gw, w)):
        if g.ndim == 1:
            est = g * g
        else:
            r, c = (g * g).mean(1, keepdims=True), (g * g).mean(0, keepdims=True)
            est = r @ c / max(r.mean(), eps1)
        u = g / np.sqrt(np.maximum(est, eps1 ** 2))
        rms = lambda a: np.sqrt((a * a).mean())  # noqa: E731
        alpha = max(eps2, rms(p0)) * rho
        want = p0 - alpha * u / max(1.0, rms(u))
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12)
    state = opt.state_dict()["state"]
    assert sorted(state[0]) == ["col_var", "row_var", "step"]
    assert tuple(state[0]["row_var"].shape) == (3, 1) and tuple(state[0]["col_var"].shape) == (1, 4)
    assert sorted(state[1]) == ["step", "variance"]


def test_validation():
    p = [nn.Parameter(torchlite.zeros(2))]
    for kwargs, match in (({"lr": -1}, "learning rate"), ({"beta2_decay": 0.5}, "beta2_decay"),
                          ({"eps": (None, -1.0)}, "epsilon2"), ({"d": 0.5}, "Clipping threshold"),
                          ({"weight_decay": -1}, "weight_decay")):
        with pytest.raises(ValueError, match=match):
            torchlite.optim.Adafactor(p, **kwargs)


@pytest.mark.parity
def test_trajectory_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((2, 3, 2))]
    x = rng.standard_normal((5, 4))
    out = []
    for lib in (torchlite, torch):
        ps = [lib.nn.Parameter(lib.tensor(a)) for a in arrays]
        opt = lib.optim.Adafactor(ps, lr=0.05, weight_decay=0.01, maximize=False, d=1.5)
        for _ in range(20):
            opt.zero_grad()
            loss = ((lib.tensor(x) @ ps[0] + ps[1]) ** 2).sum() + (ps[2] ** 3).sum()
            loss.backward()
            opt.step()
        out.append([p.detach().numpy() for p in ps])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert math.isfinite(float(out[0][0].sum()))
