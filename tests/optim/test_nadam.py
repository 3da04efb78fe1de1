"""NAdam against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import NAdam

COMBOS = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    dict(lr=0.01, eps=1e-4, maximize=True),
]


def nadam_rule(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
               decoupled_weight_decay=False, maximize=False):
    """The update of torch.optim.NAdam's documentation, in float64 (except the running product
    of the momentum coefficients, which PyTorch keeps and multiplies as a float32 scalar)."""
    b1, b2 = betas

    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))

    def init(p):
        return dict(m=np.zeros_like(p), v=np.zeros_like(p), prod=1.0)

    def update(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay != 0:
            if decoupled_weight_decay:
                p = p - lr * weight_decay * p
            else:
                g = g + weight_decay * p
        s["prod"] = float(np.float32(s["prod"]) * np.float32(mu(t)))
        prod_next = s["prod"] * mu(t + 1)
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        m_hat = mu(t + 1) * s["m"] / (1 - prod_next) + (1 - mu(t)) * g / (1 - s["prod"])
        v_hat = s["v"] / (1 - b2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_nadam_matches_update_rule(kw, problem):
    init, update = nadam_rule(**kw)
    check_against_reference(lambda ps: NAdam(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_nadam_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "NAdam", kw, problem)


def test_nadam_defaults_and_state():
    p = torchlite.zeros(2, requires_grad=True)
    opt = NAdam([p])
    d = opt.defaults
    assert (d["lr"], d["betas"], d["eps"], d["momentum_decay"]) == (2e-3, (0.9, 0.999), 1e-8, 4e-3)
    p.grad = torchlite.ones(2)
    opt.step()
    st = opt.state[p]
    assert set(st) == {"step", "mu_product", "exp_avg", "exp_avg_sq"}
    assert st["mu_product"].dtype == torchlite.float32
    assert st["mu_product"].item() == pytest.approx(0.9 * (1 - 0.5 * 0.96**0.004), rel=1e-6)


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"),
    (dict(betas=(1.0, 0.9)), r"betas\[0\]"),
    (dict(momentum_decay=-0.1), "momentum_decay"),
    (dict(eps=-1.0), "eps"),
    (dict(weight_decay=-1.0), "weight_decay"),
])
def test_nadam_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        NAdam([torchlite.zeros(2, requires_grad=True)], **kw)


def test_nadam_smoke_mlp():
    first, last = mlp_smoke(lambda ps: NAdam(ps, lr=0.02))
    assert last < 0.3 * first
