"""ctc_loss / CTCLoss: the probability of a target as the sum over its alignments (enumerated
by brute force for a small case), padded and concatenated targets, impossible targets (inf, or
0 with zero_infinity), reductions, gradcheck, and PyTorch parity of values and gradients."""

import itertools
import math

import numpy as np
import pytest
from _core_checks import check_grad

import torchlite
import torchlite.nn.functional as F
from torchlite import nn

T = torchlite.tensor


def collapse(path, blank=0):
    out = []
    for k, _ in itertools.groupby(path):
        if k != blank:
            out.append(k)
    return out


def brute_force_nll(log_probs, target, blank=0):
    """-log of the summed probability of every frame-by-frame path that collapses to target."""
    t_len, c = log_probs.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t_len):
        if collapse(path, blank) == list(target):
            total += math.exp(sum(log_probs[t, k] for t, k in enumerate(path)))
    return -math.log(total) if total else math.inf


def test_the_loss_sums_every_alignment():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 2, 3))
    lp = logits - np.log(np.exp(logits).sum(2, keepdims=True))
    targets = [[1, 1], [2, 0]]
    lengths = [2, 1]
    got = F.ctc_loss(T(lp), T(targets), [5, 4], lengths, reduction="none").numpy()
    np.testing.assert_allclose(got[0], brute_force_nll(lp[:, 0], [1, 1]), rtol=1e-12)
    np.testing.assert_allclose(got[1], brute_force_nll(lp[:4, 1], [2]), rtol=1e-12)
    concatenated = F.ctc_loss(T(lp), T([1, 1, 2]), [5, 4], lengths, reduction="none").numpy()
    np.testing.assert_allclose(concatenated, got)
    mean = F.ctc_loss(T(lp), T(targets), [5, 4], lengths).item()
    assert mean == pytest.approx((got[0] / 2 + got[1] / 1) / 2)
    single = F.ctc_loss(T(lp[:, 0]), T([1, 1]), [5], [2], reduction="none")
    assert single.ndim == 0 and single.item() == pytest.approx(got[0])


def test_impossible_targets_and_gradients():
    lp = np.log(np.full((2, 1, 3), 1 / 3))
    loss = F.ctc_loss(T(lp), T([[1, 1]]), [2], [2], reduction="none")  # needs 3 frames
    assert loss.item() == math.inf
    leaf = T(lp, requires_grad=True)
    z = F.ctc_loss(leaf, T([[1, 1]]), [2], [2], zero_infinity=True)
    z.backward()
    assert z.item() == 0.0 and not leaf.grad.numpy().any()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 2, 4))
    check_grad(lambda t: F.ctc_loss(t.log_softmax(2), T([[1, 2, 2], [3, 0, 0]]), [6, 5],
                                    [3, 1]), x)
    module = nn.CTCLoss(blank=3, reduction="sum")
    got = module(T(x).log_softmax(2), T([[1, 2, 2], [0, 0, 0]]), [6, 5], [3, 1])
    assert math.isfinite(got.item())
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(T(x), T([[1]]), [6, 6], [1, 1], blank=4)
    with pytest.raises(RuntimeError, match="input_lengths must be in"):
        F.ctc_loss(T(x), T([[1], [1]]), [7, 6], [1, 1])


@pytest.mark.parity
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((12, 4, 6))
    targets = np.array([[1, 2, 2, 3], [4, 4, 0, 0], [5, 1, 3, 0], [2, 0, 0, 0]])
    for reduction in ("none", "mean", "sum"):
        out = []
        for lib in (torchlite, torch):
            x = lib.tensor(logits, requires_grad=True)
            loss = lib.nn.functional.ctc_loss(x.log_softmax(2), lib.tensor(targets),
                                              lib.tensor([12, 10, 7, 3]),
                                              lib.tensor([4, 2, 3, 1]), reduction=reduction)
            loss.sum().backward()
            out.append((loss.detach().numpy(), x.grad.numpy()))
        np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
        np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10, atol=1e-13)


def test_empty_inputs_and_targets():
    lp = T(np.log(np.full((3, 2, 4), 0.25)))
    got = F.ctc_loss(lp, T([[1], [2]]), [0, 3], [0, 1], reduction="none")
    assert got[0].item() == 0.0  # no frames, no labels: probability 1
    assert got[1].item() == pytest.approx(brute_force_nll(np.log(np.full((3, 4), 0.25)), [2]))
    none = F.ctc_loss(lp, torchlite.zeros(2, 0, dtype=torchlite.int64), [3, 2], [0, 0],
                      reduction="none")
    np.testing.assert_allclose(none.numpy(), [-3 * np.log(0.25), -2 * np.log(0.25)])
