"""Adamax against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import Adamax

COMBOS = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99)),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, eps=1e-3, maximize=True),
]


def adamax_rule(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    """The update of torch.optim.Adamax's documentation, in float64."""
    b1, b2 = betas

    def init(p):
        return dict(m=np.zeros_like(p), u=np.zeros_like(p))

    def update(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["u"] = np.maximum(b2 * s["u"], np.abs(g) + eps)
        return p - lr * s["m"] / ((1 - b1**t) * s["u"])

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adamax_matches_update_rule(kw, problem):
    init, update = adamax_rule(**kw)
    check_against_reference(lambda ps: Adamax(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adamax_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "Adamax", kw, problem)


def test_adamax_defaults():
    d = Adamax([torchlite.zeros(2, requires_grad=True)]).defaults
    assert (d["lr"], d["betas"], d["eps"], d["weight_decay"]) == (2e-3, (0.9, 0.999), 1e-8, 0)


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"),
    (dict(betas=(-0.1, 0.9)), r"betas\[0\]"),
    (dict(betas=(0.9, 1.5)), r"betas\[1\]"),
    (dict(eps=-1.0), "eps"),
    (dict(weight_decay=float("nan")), "weight_decay"),
])
def test_adamax_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        Adamax([torchlite.zeros(2, requires_grad=True)], **kw)


def test_adamax_smoke_mlp():
    first, last = mlp_smoke(lambda ps: Adamax(ps, lr=0.02))
    assert last < 0.3 * first
