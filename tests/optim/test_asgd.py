"""ASGD against the published update rule (parameters and their average `ax`), against PyTorch,
and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import (
    PROBLEMS,
    STEPS,
    check_against_reference,
    check_parity,
    mlp_smoke,
    run_reference,
)

import torchlite
from torchlite.optim import ASGD

COMBOS = [
    dict(lr=0.02),
    dict(lr=0.02, t0=10),
    dict(lr=0.02, t0=5, lambd=0.05, alpha=0.5),
    dict(lr=0.02, weight_decay=0.1, t0=20),
    dict(lr=0.01, maximize=True, t0=10),
]


def asgd_rule(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False):
    """The update of torch.optim.ASGD's documentation, in float64, except eta and mu, which
    PyTorch keeps as float32 scalars."""

    def f32(x):
        return float(np.float32(x))

    def init(p):
        return dict(eta=f32(lr), mu=1.0, ax=np.zeros_like(p))

    def update(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        p = p * (1 - lambd * s["eta"]) - s["eta"] * g
        s["ax"] = s["ax"] + s["mu"] * (p - s["ax"]) if s["mu"] != 1 else p.copy()
        s["eta"] = f32(lr / (1 + lambd * lr * t) ** alpha)
        s["mu"] = f32(1 / max(1, t - t0))
        return p

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_asgd_matches_update_rule(kw, problem):
    init, update = asgd_rule(**kw)
    check_against_reference(lambda ps: ASGD(ps, **kw), problem, update, init)


@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_asgd_average_matches_update_rule(kw):
    problem = PROBLEMS[1]
    init, update = asgd_rule(**kw)
    states = []

    def keep(p):
        states.append(init(p))
        return states[-1]

    run_reference(problem, update, keep)
    params = [torchlite.tensor(p, dtype=torchlite.float64, requires_grad=True)
              for p in problem.params0]
    opt = ASGD(params, **kw)
    for k in range(STEPS):
        grads = problem.grad([p.detach().numpy().copy() for p in params], k)
        for p, g in zip(params, grads):
            p.grad = torchlite.tensor(g, dtype=torchlite.float64)
        opt.step()
    for p, s in zip(params, states):
        np.testing.assert_allclose(opt.state[p]["ax"].numpy(), s["ax"], rtol=1e-10, atol=1e-12)
        assert opt.state[p]["eta"].item() == s["eta"] and opt.state[p]["mu"].item() == s["mu"]


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_asgd_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "ASGD", kw, problem)


@pytest.mark.parity
def test_asgd_average_parity():
    torch = pytest.importorskip("torch")
    x = np.linspace(-1, 1, 5).astype(np.float32)
    ours = torchlite.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    a, b = ASGD([ours], lr=0.05, t0=3), torch.optim.ASGD([theirs], lr=0.05, t0=3)
    for k in range(20):
        g = np.cos(x * (k + 1)).astype(np.float32)
        ours.grad, theirs.grad = torchlite.tensor(g), torch.tensor(g)
        a.step()
        b.step()
    np.testing.assert_allclose(a.state[ours]["ax"].numpy(), b.state[theirs]["ax"].numpy(),
                               rtol=1e-6, atol=1e-7)


def test_asgd_defaults():
    d = ASGD([torchlite.zeros(2, requires_grad=True)]).defaults
    assert (d["lr"], d["lambd"], d["alpha"], d["t0"], d["weight_decay"]) == (
        1e-2, 1e-4, 0.75, 1e6, 0)


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(lambd=float("nan")), "lambd"),
    (dict(t0=float("nan")), "t0"),
])
def test_asgd_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        ASGD([torchlite.zeros(2, requires_grad=True)], **kw)


def test_asgd_smoke_mlp():
    first, last = mlp_smoke(lambda ps: ASGD(ps, lr=0.05))
    assert last < 0.3 * first
