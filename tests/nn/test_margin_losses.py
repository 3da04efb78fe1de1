"""multi_margin_loss, multilabel_margin_loss and triplet_margin_with_distance_loss (and their
modules): the definitions computed in NumPy, gradchecks, and PyTorch parity."""

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite
import torchlite.nn.functional as F
from torchlite import nn

T = torchlite.tensor


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_multi_margin_loss_matches_its_definition():
    x, y = rand(4, 5), np.array([0, 3, 4, 1])
    w = np.abs(rand(5, seed=1))
    for p, margin, weight in ((1, 1.0, None), (2, 0.5, w)):
        want = []
        for row, label in zip(x, y):
            terms = np.maximum(0, margin - row[label] + row) ** p
            if weight is not None:
                terms = terms * weight[label]
            want.append((terms.sum() - terms[label]) / 5)
        got = F.multi_margin_loss(T(x), T(y), p=p, margin=margin,
                                  weight=None if weight is None else T(w), reduction="none")
        np.testing.assert_allclose(to_np(got), want)
    assert nn.MultiMarginLoss()(T(x), T(y)).item() == pytest.approx(
        F.multi_margin_loss(T(x), T(y)).item())
    check_grad(lambda t: F.multi_margin_loss(t, T(y), p=2), x)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(T(x), T(y), p=3)


def test_multilabel_margin_loss_reads_labels_up_to_the_first_minus_one():
    x = rand(2, 4)
    target = np.array([[3, 0, -1, 1], [1, 2, 0, 3]])
    want = []
    for row, labels in zip(x, target):
        stop = list(labels).index(-1) if -1 in labels else len(labels)
        js = set(labels[:stop])
        total = sum(max(0, 1 - (row[j] - row[i])) for j in js for i in range(4) if i not in js)
        want.append(total / 4)
    np.testing.assert_allclose(to_np(F.multilabel_margin_loss(T(x), T(target), reduction="none")),
                               want)
    assert nn.MultiLabelMarginLoss(reduction="sum")(T(x), T(target)).item() == \
        pytest.approx(sum(want))
    check_grad(lambda t: F.multilabel_margin_loss(t, T(target)), x)


def test_triplet_margin_with_distance_loss():
    a, p, n = rand(3, 4), rand(3, 4, seed=1), rand(3, 4, seed=2)

    def cosine(u, v):
        return 1 - F.cosine_similarity(u, v)

    got = F.triplet_margin_with_distance_loss(T(a), T(p), T(n), distance_function=cosine,
                                              margin=0.5, reduction="none")
    cos = lambda u, v: 1 - (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)  # noqa: E731
    np.testing.assert_allclose(to_np(got), np.maximum(cos(a, p) - cos(a, n) + 0.5, 0), rtol=1e-6)
    default = F.triplet_margin_with_distance_loss(T(a), T(p), T(n))
    assert default.item() == pytest.approx(F.triplet_margin_loss(T(a), T(p), T(n)).item())
    check_grad(lambda u, v, w: F.triplet_margin_with_distance_loss(u, v, w, swap=True), a, p, n)
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=0)


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    x, y = rand(4, 5, seed=3), np.array([0, 3, 4, 1])
    target = np.array([[3, 0, -1, 1, 2], [1, 2, 4, 0, 3], [-1, 1, 2, 3, 4], [4, -1, 0, 0, 0]])
    w = np.abs(rand(5, seed=4))
    cases = [lambda L, X: L.nn.functional.multi_margin_loss(X, L.tensor(y), p=2, margin=0.7,
                                                           weight=L.tensor(w)),
             lambda L, X: L.nn.functional.multilabel_margin_loss(X, L.tensor(target)),
             lambda L, X: L.nn.functional.triplet_margin_with_distance_loss(
                 X, X * 0.5, X.flip(0), swap=True, reduction="sum")]
    for fn in cases:
        out = []
        for lib in (torchlite, torch):
            X = lib.tensor(x, requires_grad=True)
            v = fn(lib, X)
            v.backward()
            out.append((v.detach().numpy(), X.grad.numpy()))
        np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
        np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12, atol=1e-15)


def test_a_repeated_label_counts_each_time():
    x = rand(1, 4, seed=5)
    once = F.multilabel_margin_loss(T(x), T([[1, 3, -1, 0]])).item()
    twice = F.multilabel_margin_loss(T(x), T([[1, 1, 3, -1]])).item()
    row = x[0]
    extra = sum(max(0, 1 - (row[1] - row[i])) for i in (0, 2)) / 4
    assert twice == pytest.approx(once + extra)
