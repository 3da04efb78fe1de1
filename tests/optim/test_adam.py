"""Adam against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import Adam

COMBOS = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, amsgrad=True),
    dict(lr=0.01, maximize=True),
    dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
]


def adam_rule(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
              maximize=False, decoupled_weight_decay=False):
    """The update of torch.optim.Adam's documentation, in float64."""
    b1, b2 = betas

    def init(p):
        return dict(m=np.zeros_like(p), v=np.zeros_like(p), vmax=np.zeros_like(p))

    def update(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay != 0:
            if decoupled_weight_decay:
                p = p - lr * weight_decay * p
            else:
                g = g + weight_decay * p
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        m_hat = s["m"] / (1 - b1**t)
        if amsgrad:
            s["vmax"] = np.maximum(s["vmax"], s["v"])
            v_hat = s["vmax"] / (1 - b2**t)
        else:
            v_hat = s["v"] / (1 - b2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adam_matches_update_rule(kw, problem):
    init, update = adam_rule(**kw)
    check_against_reference(lambda ps: Adam(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adam_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "Adam", kw, problem)


def test_adam_defaults_and_state():
    p = torchlite.zeros(3, requires_grad=True)
    opt = Adam([p], amsgrad=True)
    d = opt.defaults
    assert (d["lr"], d["betas"], d["eps"], d["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, 0)
    p.grad = torchlite.ones(3)
    opt.step()
    opt.step()
    st = opt.state[p]
    assert set(st) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert st["step"].shape == () and st["step"].dtype == torchlite.float32
    assert st["step"].device.type == "cpu" and st["step"].item() == 2.0
    assert st["exp_avg"].dtype == p.dtype and st["exp_avg"].device == p.device


def test_adam_skips_params_without_grad():
    a = torchlite.ones(2, requires_grad=True)
    b = torchlite.ones(2, requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.grad = torchlite.ones(2)
    opt.step()
    assert b.tolist() == [1.0, 1.0] and len(opt.state[b]) == 0
    assert a.tolist() != [1.0, 1.0]


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1e-3), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    (dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    (dict(betas=(0.9, float("nan"))), r"betas\[1\]"),
    (dict(eps=-1e-8), "eps"),
    (dict(weight_decay=-0.1), "weight_decay"),
    (dict(weight_decay=float("nan")), "weight_decay"),
])
def test_adam_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        Adam([torchlite.zeros(2, requires_grad=True)], **kw)


def test_adam_smoke_mlp():
    first, last = mlp_smoke(lambda ps: Adam(ps, lr=0.02))
    assert last < 0.3 * first
