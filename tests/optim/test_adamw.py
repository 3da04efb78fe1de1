"""AdamW against the published update rule, against PyTorch, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import AdamW

COMBOS = [
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.0),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True),
    dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4),
]


def adamw_rule(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
               maximize=False):
    """The update of torch.optim.AdamW's documentation, in float64."""
    b1, b2 = betas

    def init(p):
        return dict(m=np.zeros_like(p), v=np.zeros_like(p), vmax=np.zeros_like(p))

    def update(p, g, s, t):
        if maximize:
            g = -g
        p = p - lr * weight_decay * p
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
def test_adamw_matches_update_rule(kw, problem):
    init, update = adamw_rule(**kw)
    check_against_reference(lambda ps: AdamW(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_adamw_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "AdamW", kw, problem)


def test_adamw_defaults():
    opt = AdamW([torchlite.zeros(2, requires_grad=True)])
    assert opt.defaults["weight_decay"] == 1e-2 and opt.defaults["decoupled_weight_decay"]
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == (0.9, 0.999)


def test_adamw_stays_decoupled_after_loading_adam_state():
    p = torchlite.ones(2, requires_grad=True)
    sd = torchlite.optim.Adam([p], weight_decay=0.1).state_dict()
    opt = AdamW([p])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"),
    (dict(betas=(0.9, 1.0)), r"betas\[1\]"),
    (dict(weight_decay=-0.01), "weight_decay"),
    (dict(eps=float("nan")), "eps"),
])
def test_adamw_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        AdamW([torchlite.zeros(2, requires_grad=True)], **kw)


def test_adamw_smoke_mlp():
    first, last = mlp_smoke(lambda ps: AdamW(ps, lr=0.02))
    assert last < 0.3 * first
