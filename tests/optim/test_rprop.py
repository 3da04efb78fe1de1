"""Rprop against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import Rprop

COMBOS = [
    dict(lr=0.01, step_sizes=(1e-6, 0.05)),
    dict(lr=0.01, etas=(0.3, 1.5), step_sizes=(1e-4, 0.1)),
    dict(lr=0.02, step_sizes=(0.005, 0.03)),
    dict(lr=0.01, maximize=True, step_sizes=(1e-6, 0.02)),
]


def rprop_rule(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    """The update of torch.optim.Rprop's documentation, in float64."""
    eta_minus, eta_plus = etas
    lo, hi = step_sizes

    def init(p):
        return dict(prev=np.zeros_like(p), size=np.full_like(p, lr))

    def update(p, g, s, t):
        if maximize:
            g = -g
        same = g * s["prev"]
        factor = np.where(same > 0, eta_plus, np.where(same < 0, eta_minus, 1.0))
        s["size"] = np.clip(s["size"] * factor, lo, hi)
        g = np.where(same < 0, 0.0, g)
        s["prev"] = g
        return p - np.sign(g) * s["size"]

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_rprop_matches_update_rule(kw, problem):
    init, update = rprop_rule(**kw)
    check_against_reference(lambda ps: Rprop(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", [*COMBOS, dict(lr=0.01)], ids=str)
def test_rprop_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "Rprop", kw, problem)


def test_rprop_defaults_and_state():
    p = torchlite.zeros(2, requires_grad=True)
    opt = Rprop([p])
    d = opt.defaults
    assert (d["lr"], d["etas"], d["step_sizes"]) == (1e-2, (0.5, 1.2), (1e-6, 50))
    p.grad = torchlite.tensor([1.0, -1.0])
    opt.step()
    assert p.tolist() == pytest.approx([-0.01, 0.01])
    p.grad = torchlite.tensor([1.0, 1.0])
    opt.step()
    # same sign: step grows by 1.2; sign change: step shrinks by 0.5 and the move is skipped
    assert opt.state[p]["step_size"].tolist() == pytest.approx([0.012, 0.005])
    assert p.tolist() == pytest.approx([-0.022, 0.01])
    assert opt.state[p]["prev"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"),
    (dict(etas=(1.5, 1.2)), "eta"),
    (dict(etas=(0.5, 0.9)), "eta"),
    (dict(etas=(float("nan"), 1.2)), "eta"),
    (dict(step_sizes=(1.0, 0.1)), "step_sizes"),
])
def test_rprop_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        Rprop([torchlite.zeros(2, requires_grad=True)], **kw)


def test_rprop_smoke_mlp():
    first, last = mlp_smoke(lambda ps: Rprop(ps, lr=0.01))
    assert last < 0.3 * first
