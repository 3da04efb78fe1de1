"""Adagrad against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import Adagrad

COMBOS = [
    dict(lr=0.1),
    dict(lr=0.1, lr_decay=0.05),
    dict(lr=0.1, initial_accumulator_value=0.5),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, eps=1e-3, maximize=True),
    dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.05),
]


def adagrad_rule(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, maximize=False):
    """The update of torch.optim.Adagrad's documentation, in float64."""

    def init(p):
        return dict(sum=np.full_like(p, initial_accumulator_value))

    def update(p, g, s, t):
        if maximize:
            g = -g
        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g = g + weight_decay * p
        s["sum"] = s["sum"] + g * g
        return p - lr_t * g / (np.sqrt(s["sum"]) + eps)

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adagrad_matches_update_rule(kw, problem):
    init, update = adagrad_rule(**kw)
    check_against_reference(lambda ps: Adagrad(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adagrad_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "Adagrad", kw, problem)


def test_adagrad_state_is_created_with_the_optimizer():
    p = torchlite.zeros(3, requires_grad=True)
    opt = Adagrad([p], initial_accumulator_value=0.25)
    assert opt.state[p]["sum"].tolist() == [0.25] * 3 and opt.state[p]["step"].item() == 0
    assert opt.defaults["lr"] == 1e-2 and opt.defaults["eps"] == 1e-10
    q = torchlite.zeros(2, requires_grad=True)
    opt.add_param_group({"params": [q], "initial_accumulator_value": 1.0})
    q.grad = torchlite.ones(2)
    opt.step()
    assert opt.state[q]["sum"].tolist() == [2.0, 2.0]


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-0.1), "lr"),
    (dict(lr_decay=-0.1), "lr_decay"),
    (dict(weight_decay=-0.1), "weight_decay"),
    (dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (dict(eps=-1.0), "eps"),
    (dict(lr_decay=float("nan")), "lr_decay"),
])
def test_adagrad_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        Adagrad([torchlite.zeros(2, requires_grad=True)], **kw)


def test_adagrad_smoke_mlp():
    first, last = mlp_smoke(lambda ps: Adagrad(ps, lr=0.1))
    assert last < 0.3 * first
