"""Adadelta against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import Adadelta

COMBOS = [
    dict(lr=1.0),
    dict(lr=1.0, rho=0.5),
    dict(lr=0.5, eps=1e-3),
    dict(lr=1.0, weight_decay=0.1),
    dict(lr=1.0, rho=0.95, maximize=True),
]


def adadelta_rule(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    """The update of torch.optim.Adadelta's documentation, in float64."""

    def init(p):
        return dict(v=np.zeros_like(p), u=np.zeros_like(p))

    def update(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        s["v"] = rho * s["v"] + (1 - rho) * g * g
        delta = np.sqrt(s["u"] + eps) / np.sqrt(s["v"] + eps) * g
        s["u"] = rho * s["u"] + (1 - rho) * delta * delta
        return p - lr * delta

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adadelta_matches_update_rule(kw, problem):
    init, update = adadelta_rule(**kw)
    check_against_reference(lambda ps: Adadelta(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adadelta_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "Adadelta", kw, problem)


def test_adadelta_defaults():
    d = Adadelta([torchlite.zeros(2, requires_grad=True)]).defaults
    assert (d["lr"], d["rho"], d["eps"], d["weight_decay"]) == (1.0, 0.9, 1e-6, 0)


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"),
    (dict(rho=1.5), "rho"),
    (dict(rho=-0.1), "rho"),
    (dict(rho=float("nan")), "rho"),
    (dict(eps=-1.0), "eps"),
    (dict(weight_decay=-1.0), "weight_decay"),
])
def test_adadelta_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        Adadelta([torchlite.zeros(2, requires_grad=True)], **kw)


def test_adadelta_smoke_mlp():
    first, last = mlp_smoke(lambda ps: Adadelta(ps, lr=1.0))
    assert last < 0.3 * first
