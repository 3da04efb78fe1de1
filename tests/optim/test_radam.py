"""RAdam against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import RAdam

COMBOS = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.9)),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    dict(lr=0.01, eps=1e-4, maximize=True),
]


def radam_rule(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
               decoupled_weight_decay=False, maximize=False):
    """The update of torch.optim.RAdam's documentation, in float64."""
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1

    def init(p):
        return dict(m=np.zeros_like(p), v=np.zeros_like(p))

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
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            adaptive = np.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)
            rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                           / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            return p - lr * m_hat * adaptive * rect
        return p - lr * m_hat

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_radam_matches_update_rule(kw, problem):
    init, update = radam_rule(**kw)
    check_against_reference(lambda ps: RAdam(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_radam_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "RAdam", kw, problem)


def test_radam_first_steps_are_unrectified():
    # rho_t <= 5 for the first steps with beta2 = 0.999: the update is lr * m_hat = lr * g
    p = torchlite.zeros(2, dtype=torchlite.float64, requires_grad=True)
    opt = RAdam([p], lr=0.1)
    p.grad = torchlite.tensor([1.0, -2.0], dtype=torchlite.float64)
    opt.step()
    assert p.tolist() == pytest.approx([-0.1, 0.2], rel=1e-12)
    defaults = RAdam([p]).defaults
    assert defaults["lr"] == 1e-3 and defaults["betas"] == (0.9, 0.999)


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"),
    (dict(betas=(0.9, 1.0)), r"betas\[1\]"),
    (dict(eps=-1.0), "eps"),
    (dict(weight_decay=-1.0), "weight_decay"),
])
def test_radam_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        RAdam([torchlite.zeros(2, requires_grad=True)], **kw)


def test_radam_smoke_mlp():
    first, last = mlp_smoke(lambda ps: RAdam(ps, lr=0.02))
    assert last < 0.3 * first
