"""SGD against the published update rule, against PyTorch, and on a small MLP."""

import pytest
from _optim_checks import PROBLEMS, check_against_reference, check_parity, mlp_smoke

import torchlite
from torchlite.optim import SGD

COMBOS = [
    dict(lr=0.02),
    dict(lr=0.02, momentum=0.9),
    dict(lr=0.02, momentum=0.9, dampening=0.5),
    dict(lr=0.02, momentum=0.9, nesterov=True),
    dict(lr=0.02, weight_decay=0.1),
    dict(lr=0.02, momentum=0.8, weight_decay=0.1, nesterov=True),
    dict(lr=0.01, momentum=0.5, maximize=True),
]


def sgd_rule(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    """The update of torch.optim.SGD's documentation, in float64."""

    def update(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
            g = g + momentum * s["b"] if nesterov else s["b"]
        return p - lr * g

    return update


@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_sgd_matches_update_rule(kw, problem):
    check_against_reference(lambda ps: SGD(ps, **kw), problem, sgd_rule(**kw))


@pytest.mark.parity
@pytest.mark.parametrize("problem", PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_sgd_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "SGD", kw, problem)


def test_sgd_defaults_and_state():
    p = torchlite.zeros(3, requires_grad=True)
    opt = SGD([p])
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["momentum"] == 0
    assert not opt.defaults["nesterov"] and not opt.defaults["maximize"]
    p.grad = torchlite.ones(3)
    opt.step()
    assert len(opt.state[p]) == 0  # no momentum: no buffer
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    assert opt.state[p]["momentum_buffer"].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-0.1), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(lr=0.1, momentum=-0.5), "momentum"),
    (dict(lr=0.1, weight_decay=-1.0), "weight_decay"),
    (dict(lr=0.1, nesterov=True), "nesterov"),
    (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening"),
    (dict(lr=0.1, momentum=float("nan")), "momentum"),
])
def test_sgd_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        SGD([torchlite.zeros(2, requires_grad=True)], **kw)


def test_sgd_smoke_mlp():
    first, last = mlp_smoke(lambda ps: SGD(ps, lr=0.1, momentum=0.9))
    assert last < 0.3 * first
