"""The regression, binary and embedding losses (nn/functional/loss.py, distance.py, modules)."""

import numpy as np
import pytest
from _nn_checks import check_fn_grads, npy, rnd, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def _red(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def _smooth_l1(d, beta):
    a = np.abs(d)
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


def _huber(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def _sig(x):
    return 1 / (1 + np.exp(-x))


X = rnd((3, 4), 0)
Y = rnd((3, 4), 1)
P = rnd((3, 4), 2, 0.05, 0.95)
B = (rnd((3, 4), 3) > 0).astype(np.float64)
POS = rnd((4,), 4, 0.5, 3)
W = rnd((3, 4), 5, 0.2, 2)

# name -> (torchlite module factory, loss(x, y) in numpy (unreduced), inputs)
PAIR = {
    "mse": (lambda r: nn.MSELoss(reduction=r), lambda x, y: (x - y) ** 2, (X, Y)),
    "l1": (lambda r: nn.L1Loss(reduction=r), lambda x, y: np.abs(x - y), (X, Y)),
    "smooth_l1": (lambda r: nn.SmoothL1Loss(reduction=r, beta=0.5),
                  lambda x, y: _smooth_l1(x - y, 0.5), (X, Y)),
    "huber": (lambda r: nn.HuberLoss(reduction=r, delta=0.7), lambda x, y: _huber(x - y, 0.7),
              (X, Y)),
    "bce": (lambda r: nn.BCELoss(reduction=r),
            lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)), (P, B)),
    "bce_weight": (lambda r: nn.BCELoss(weight=t32(W), reduction=r),
                   lambda p, y: -W * (y * np.log(p) + (1 - y) * np.log(1 - p)), (P, P[::-1])),
    "bce_logits": (lambda r: nn.BCEWithLogitsLoss(reduction=r),
                   lambda x, y: -(y * np.log(_sig(x)) + (1 - y) * np.log(1 - _sig(x))), (X, B)),
    "bce_logits_pos": (lambda r: nn.BCEWithLogitsLoss(reduction=r, pos_weight=t32(POS)),
                       lambda x, y: -(POS * y * np.log(_sig(x)) + (1 - y) * np.log(1 - _sig(x))),
                       (X, P)),
    "kl_div": (lambda r: nn.KLDivLoss(reduction=r),
               lambda x, t: t * (np.log(t) - x), (np.log(P), P[::-1])),
    "kl_div_log": (lambda r: nn.KLDivLoss(reduction=r, log_target=True),
                   lambda x, t: np.exp(t) * (t - x), (np.log(P), np.log(P[::-1]))),
    "soft_margin": (lambda r: nn.SoftMarginLoss(reduction=r),
                    lambda x, y: np.log1p(np.exp(-y * x)), (X, 2 * B - 1)),
    "hinge": (lambda r: nn.HingeEmbeddingLoss(margin=0.5, reduction=r),
              lambda x, y: np.where(y == 1, x, np.maximum(0, 0.5 - x)), (X, 2 * B - 1)),
    "poisson": (lambda r: nn.PoissonNLLLoss(reduction=r),
                lambda x, y: np.exp(x) - y * x, (X, np.abs(Y))),
}
TORCH = {
    "mse": ("MSELoss", {}), "l1": ("L1Loss", {}), "smooth_l1": ("SmoothL1Loss", {"beta": 0.5}),
    "huber": ("HuberLoss", {"delta": 0.7}), "bce": ("BCELoss", {}),
    "bce_weight": ("BCELoss", {"weight": W}), "bce_logits": ("BCEWithLogitsLoss", {}),
    "bce_logits_pos": ("BCEWithLogitsLoss", {"pos_weight": POS}), "kl_div": ("KLDivLoss", {}),
    "kl_div_log": ("KLDivLoss", {"log_target": True}), "soft_margin": ("SoftMarginLoss", {}),
    "hinge": ("HingeEmbeddingLoss", {"margin": 0.5}), "poisson": ("PoissonNLLLoss", {}),
}
# the target takes a gradient only where PyTorch defines one
TARGET_GRAD = {"mse", "l1", "smooth_l1", "huber", "bce", "bce_weight", "bce_logits",
               "bce_logits_pos", "kl_div", "kl_div_log"}


@pytest.mark.filterwarnings("ignore:reduction. 'mean'")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(PAIR))
def test_forward_matches_numpy(name, reduction):
    make, ref, (a, b) = PAIR[name]
    out = make(reduction)(t32(a), t32(b))
    assert out.dtype == torchlite.float32
    np.testing.assert_allclose(npy(out), _red(ref(a, b), reduction), rtol=2e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:reduction. 'mean'")
@pytest.mark.parametrize("name", sorted(PAIR))
def test_gradcheck(name):
    make, _, (a, b) = PAIR[name]
    m = make("mean").double()
    if name in TARGET_GRAD:
        check_fn_grads(m, t64(a), t64(b))
    else:
        check_fn_grads(lambda x: m(x, t64(b, False)), t64(a))
    check_fn_grads(lambda x: make("none").double()(x, t64(b, False)), t64(a))


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:reduction. 'mean'")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(PAIR))
def test_parity(name, reduction):
    torch = pytest.importorskip("torch")
    make, _, (a, b) = PAIR[name]
    cls, kw = TORCH[name]
    kw = {k: torch.tensor(v, dtype=torch.float32) if isinstance(v, np.ndarray) else v
          for k, v in kw.items()}
    ref_m = getattr(torch.nn, cls)(reduction=reduction, **kw)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    xa, xb = t32(a32, True), t32(b32, True)
    ta = torch.tensor(a32, requires_grad=True)
    tb = torch.tensor(b32, requires_grad=name in TARGET_GRAD)
    out, ref = make(reduction)(xa, xb), ref_m(ta, tb)
    np.testing.assert_allclose(npy(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(npy(xa.grad), ta.grad.numpy(), rtol=1e-5, atol=1e-6)
    if name in TARGET_GRAD:
        np.testing.assert_allclose(npy(xb.grad), tb.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_weighted_pointwise_mean_divides_by_weight_sum():
    for fn, ref in ((F.mse_loss, (X - Y) ** 2), (F.l1_loss, np.abs(X - Y)),
                    (F.huber_loss, _huber(X - Y, 1.0))):
        out = fn(t32(X), t32(Y), weight=t32(W))
        np.testing.assert_allclose(float(out), (ref * W).sum() / W.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="same size"):
        F.mse_loss(t32(X), t32(Y), weight=t32(W[0]))


def test_bce_logits_stable_for_huge_logits():
    x = t32([1e4, -1e4, 50.0, -50.0], requires_grad=True)
    y = t32([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(npy(loss), [1e4, 1e4, 0.0, 0.0], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [1.0, -1.0, 0.0, 0.0], atol=1e-6)


def test_bce_clamps_log_and_checks_range():
    out = F.binary_cross_entropy(t32([0.0, 1.0]), t32([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(npy(out), [100.0, 100.0])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(t32([1.5]), t32([1.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(t32([0.5, 0.5]), t32([1.0]))


def test_kl_div_batchmean_and_zero_targets():
    x, t = np.log(P), P[::-1].copy()
    t[0, 0] = 0.0
    out = F.kl_div(t32(x), t32(t), reduction="batchmean")
    ref = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0)
    np.testing.assert_allclose(float(out), ref.sum() / 3, rtol=1e-5)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(t32(x), t32(t))


def test_mse_broadcast_warns():
    with pytest.warns(UserWarning, match="different to the input size"):
        out = F.mse_loss(t32(X), t32(Y[0]))
    np.testing.assert_allclose(float(out), ((X - Y[0]) ** 2).mean(), rtol=1e-5)


def test_bad_reduction_and_beta():
    with pytest.raises(ValueError):
        F.mse_loss(t32(X), t32(Y), reduction="avg")
    with pytest.raises(RuntimeError):
        F.smooth_l1_loss(t32(X), t32(Y), beta=-1.0)


# -- losses on pairs/triplets of embeddings ----------------------------------------------------

A, Pp, N = rnd((4, 3), 6), rnd((4, 3), 7), rnd((4, 3), 8)
T = np.array([1, -1, 1, -1])


def _cos(a, b):
    return (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))


def _dist(a, b, p=2.0, eps=1e-6):
    return (np.abs(a - b + eps) ** p).sum(-1) ** (1 / p)


def test_cosine_embedding_loss():
    c = _cos(A, Pp)
    ref = np.where(T == 1, 1 - c, np.maximum(0, c - 0.1))
    out = nn.CosineEmbeddingLoss(margin=0.1, reduction="none")(t32(A), t32(Pp), torchlite.tensor(T))
    np.testing.assert_allclose(npy(out), ref, rtol=1e-5, atol=1e-6)
    check_fn_grads(lambda a, b: F.cosine_embedding_loss(a, b, torchlite.tensor(T), 0.1), t64(A),
                   t64(Pp))


def test_margin_ranking_loss():
    x1, x2 = A[:, 0], Pp[:, 0]
    out = nn.MarginRankingLoss(0.2, reduction="none")(t32(x1), t32(x2), t32(T))
    np.testing.assert_allclose(npy(out), np.maximum(0, -T * (x1 - x2) + 0.2), rtol=1e-5)
    check_fn_grads(lambda a, b: F.margin_ranking_loss(a, b, t64(T, False), 0.2), t64(x1), t64(x2))


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_triplet_margin_loss(swap, p):
    dn = _dist(A, N, p)
    if swap:
        dn = np.minimum(dn, _dist(Pp, N, p))
    ref = np.maximum(_dist(A, Pp, p) - dn + 1.0, 0)
    m = nn.TripletMarginLoss(p=p, swap=swap, reduction="none")
    np.testing.assert_allclose(npy(m(t32(A), t32(Pp), t32(N))), ref, rtol=1e-5, atol=1e-6)
    check_fn_grads(lambda a, b, c: F.triplet_margin_loss(a, b, c, p=p, swap=swap), t64(A),
                   t64(Pp), t64(N))


def test_gaussian_nll_and_multilabel_soft_margin():
    var = rnd((3, 4), 9, 0.1, 2)
    ref = 0.5 * (np.log(var) + (X - Y) ** 2 / var)
    out = nn.GaussianNLLLoss(reduction="none")(t32(X), t32(Y), t32(var))
    np.testing.assert_allclose(npy(out), ref, rtol=1e-5)
    check_fn_grads(lambda a, v: F.gaussian_nll_loss(a, t64(Y, False), v), t64(X), t64(var))
    ref2 = -(B * np.log(_sig(X)) + (1 - B) * np.log(1 - _sig(X))).mean(1).mean()
    out2 = nn.MultiLabelSoftMarginLoss()(t32(X), t32(B))
    np.testing.assert_allclose(float(out2), ref2, rtol=1e-5)
    check_fn_grads(lambda a: F.multilabel_soft_margin_loss(a, t64(B, False), t64(W[0], False)),
                   t64(X))


@pytest.mark.parity
def test_embedding_losses_parity():
    torch = pytest.importorskip("torch")
    f32 = [a.astype(np.float32) for a in (A, Pp, N)]
    ours = [t32(a, True) for a in f32]
    theirs = [torch.tensor(a, requires_grad=True) for a in f32]
    pairs = [
        (F.cosine_embedding_loss(ours[0], ours[1], torchlite.tensor(T), 0.1),
         torch.nn.functional.cosine_embedding_loss(theirs[0], theirs[1], torch.tensor(T), 0.1)),
        (F.triplet_margin_loss(*ours, p=1.5, swap=True),
         torch.nn.functional.triplet_margin_loss(*theirs, p=1.5, swap=True)),
        (F.margin_ranking_loss(ours[0][:, 0], ours[1][:, 0], t32(T), 0.2),
         torch.nn.functional.margin_ranking_loss(theirs[0][:, 0], theirs[1][:, 0],
                                                 torch.tensor(T, dtype=torch.float32), 0.2)),
    ]
    for out, ref in pairs:
        np.testing.assert_allclose(float(out), float(ref.detach()), rtol=1e-5)
    sum(o for o, _ in pairs).backward()
    sum(r for _, r in pairs).backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_weights_on_another_device_are_refused_up_front():
    # weight and pos_weight reach the Ops as raw arrays; a cuda label on NumPy data reaches
    # the check without a GPU
    x, y = t32(rnd((2, 3))), t32(np.ones((2, 3)))
    w = torchlite.Tensor._make(np.ones(3, dtype=np.float32), torchlite.device("cuda"))
    with pytest.raises(RuntimeError, match="weight is on cuda"):
        F.binary_cross_entropy_with_logits(x, y, pos_weight=w)
    with pytest.raises(RuntimeError, match="weight is on cuda"):
        F.binary_cross_entropy(torchlite.sigmoid(x), y, weight=w)
