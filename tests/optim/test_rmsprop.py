"""RMSprop against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import RMSprop

COMBOS = [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, centered=True),
    dict(lr=0.005, momentum=0.5, centered=True),
    dict(lr=0.01, weight_decay=0.1, eps=1e-4),
    dict(lr=0.01, momentum=0.3, maximize=True),
]


def rmsprop_rule(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 maximize=False):
    """The update of torch.optim.RMSprop's documentation, in float64."""

    def init(p):
        return dict(v=np.zeros_like(p), gavg=np.zeros_like(p), b=np.zeros_like(p))

    def update(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        s["v"] = alpha * s["v"] + (1 - alpha) * g * g
        v_tilde = s["v"]
        if centered:
            s["gavg"] = alpha * s["gavg"] + (1 - alpha) * g
            v_tilde = v_tilde - s["gavg"] ** 2
        if momentum > 0:
            s["b"] = momentum * s["b"] + g / (np.sqrt(v_tilde) + eps)
            return p - lr * s["b"]
        return p - lr * g / (np.sqrt(v_tilde) + eps)

    return init, update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_rmsprop_matches_update_rule(kw, problem):
    init, update = rmsprop_rule(**kw)
    check_against_reference(lambda ps: RMSprop(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_rmsprop_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "RMSprop", kw, problem)


def test_rmsprop_state_keys():
    p = torchlite.zeros(2, requires_grad=True)
    p.grad = torchlite.ones(2)
    opt = RMSprop([p], momentum=0.9, centered=True)
    opt.step()
    assert set(opt.state[p]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    d = RMSprop([p]).defaults
    assert (d["lr"], d["alpha"], d["eps"], d["momentum"]) == (1e-2, 0.99, 1e-8, 0)
    assert not d["centered"]


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-0.1), "lr"),
    (dict(alpha=-0.5), "alpha"),
    (dict(momentum=-0.1), "momentum"),
    (dict(eps=-1e-8), "eps"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(alpha=float("nan")), "alpha"),
])
def test_rmsprop_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        RMSprop([torchlite.zeros(2, requires_grad=True)], **kw)


def test_rmsprop_smoke_mlp():
    first, last = mlp_smoke(lambda ps: RMSprop(ps, lr=0.01))
    assert last < 0.3 * first
