"""SparseAdam (dense fallback: entries with a zero gradient are left alone) against the published
update rule, against PyTorch fed `grad.to_sparse()`, and on a small MLP."""

import numpy as np
import pytest
from _optim_checks import (
    PROBLEMS,
    check_against_reference,
    check_parity,
    mlp_smoke,
    sparse_rows,
)

import torchlite
from torchlite.optim import SparseAdam

SPARSE_PROBLEMS = [*PROBLEMS, sparse_rows()]
COMBOS = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-4),
    dict(lr=0.01, maximize=True),
]


def sparse_adam_rule(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
    """The masked Adam step of torch.optim.SparseAdam's documentation, in float64."""
    b1, b2 = betas

    def init(p):
        return dict(m=np.zeros_like(p), v=np.zeros_like(p))

    def update(p, g, s, t):
        if maximize:
            g = -g
        mask = g != 0
        s["m"] = np.where(mask, b1 * s["m"] + (1 - b1) * g, s["m"])
        s["v"] = np.where(mask, b2 * s["v"] + (1 - b2) * g * g, s["v"])
        step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return np.where(mask, p - step * s["m"] / (np.sqrt(s["v"]) + eps), p)

    return init, update


@pytest.mark.parametrize("problem", SPARSE_PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_sparse_adam_matches_update_rule(kw, problem):
    init, update = sparse_adam_rule(**kw)
    check_against_reference(lambda ps: SparseAdam(ps, **kw), problem, update, init)


@pytest.mark.parity
@pytest.mark.parametrize("problem", SPARSE_PROBLEMS, ids=repr)
@pytest.mark.parametrize("kw", COMBOS, ids=str)
def test_sparse_adam_parity(kw, problem):
    torch = pytest.importorskip("torch")
    check_parity(torch, "SparseAdam", kw, problem, sparse_grad=True)


def test_sparse_adam_leaves_untouched_rows_alone():
    p = torchlite.ones((3, 2), requires_grad=True)
    opt = SparseAdam([p], lr=0.1)
    p.grad = torchlite.tensor([[1.0, 1.0], [0.0, 0.0], [-1.0, 0.0]])
    opt.step()
    assert p[1].tolist() == [1.0, 1.0] and p[2, 1].item() == 1.0
    assert p[0].tolist() == pytest.approx([0.9, 0.9]) and p[2, 0].item() == pytest.approx(1.1)
    assert opt.state[p]["step"] == 1 and opt.state[p]["exp_avg"][1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("kw, match", [
    (dict(lr=0.0), "lr"),
    (dict(lr=-1.0), "lr"),
    (dict(eps=0.0), "eps"),
    (dict(betas=(1.0, 0.9)), r"betas\[0\]"),
    (dict(betas=(0.9, float("nan"))), r"betas\[1\]"),
])
def test_sparse_adam_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        SparseAdam([torchlite.zeros(2, requires_grad=True)], **kw)


def test_sparse_adam_smoke_mlp():
    first, last = mlp_smoke(lambda ps: SparseAdam(ps, lr=0.02))
    assert last < 0.3 * first
