"""cross_entropy and nll_loss (torchlite/nn/functional/cross_entropy.py) and their Modules."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from _nn_checks import check_fn_grads, npy, rnd, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite._cuda_kernels import cross_entropy as kernels


def _log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _ce_ref(x, t, w=None, ignore=-100, reduction="mean", eps=0.0):
    """PyTorch's documented semantics, written out on (N, C, *) arrays with class indices."""
    c = x.shape[1]
    lp = _log_softmax(x)
    lp = np.moveaxis(lp, 1, -1).reshape(-1, c)
    t = t.reshape(-1)
    w = np.ones(c) if w is None else w
    valid = t != ignore
    tt = np.where(valid, t, 0)
    wt = w[tt] * valid
    nll = -lp[np.arange(len(t)), tt] * wt
    smooth = -(lp * w).sum(1) * valid
    loss = (1 - eps) * nll + eps / c * smooth
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / wt.sum()


def _targets(shape, c, seed=0, ignore=None):
    t = np.random.default_rng(seed).integers(0, c, size=shape)
    if ignore is not None:
        t[np.random.default_rng(seed + 1).random(shape) < 0.3] = ignore
    return t


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_matches_reference(reduction, weighted, eps):
    x = rnd((6, 4), 0, -3, 3)
    t = _targets((6,), 4, ignore=-1)
    t[0] = 2  # at least one target counts
    w = rnd((4,), 1, 0.2, 2.0) if weighted else None
    out = F.cross_entropy(t32(x), torchlite.tensor(t), None if w is None else t32(w),
                          ignore_index=-1, reduction=reduction, label_smoothing=eps)
    assert out.dtype == torchlite.float32
    expected = _ce_ref(x, t, w, -1, reduction, eps)
    np.testing.assert_allclose(npy(out), expected, rtol=1e-5, atol=1e-6)
    check_fn_grads(lambda a: F.cross_entropy(a, torchlite.tensor(t), None if w is None else t64(
        w, False), ignore_index=-1, reduction=reduction, label_smoothing=eps), t64(x))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_where_every_target_counts_matches_the_general_path_exactly(reduction, dtype):
    # Such a batch takes a shorter path (no masks, weights or one-hot matrix); weights of 1
    # send the same numbers through the general one, which must agree bit for bit.
    x = rnd((7, 5), 3, -4, 4).astype(dtype)
    t = torchlite.tensor(_targets((7,), 5, seed=4))
    results = []
    for weight in (None, torchlite.tensor(np.ones(5, dtype))):
        a = torchlite.tensor(x, requires_grad=True)
        out = F.cross_entropy(a, t, weight, reduction=reduction)
        out.backward(torchlite.tensor(rnd(tuple(out.shape), 5, 0.1, 3.0).astype(dtype)))
        results.append((npy(out), npy(a.grad)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][0], _ce_ref(x, npy(t), reduction=reduction),
                               rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_cross_entropy_nd_inputs():
    x = rnd((2, 3, 2, 2), 2)
    t = _targets((2, 2, 2), 3, 3)
    out = F.cross_entropy(t32(x), torchlite.tensor(t), reduction="none")
    assert tuple(out.shape) == (2, 2, 2)
    np.testing.assert_allclose(npy(out).reshape(-1), _ce_ref(x, t, reduction="none"), rtol=1e-5)
    check_fn_grads(lambda a: F.cross_entropy(a, torchlite.tensor(t), label_smoothing=0.1),
                   t64(x))


def test_cross_entropy_unbatched():
    x = rnd((5,), 5)
    out = F.cross_entropy(t32(x), torchlite.tensor(3), reduction="none")
    assert tuple(out.shape) == ()
    np.testing.assert_allclose(float(out), -_log_softmax(x[None])[0, 3], rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(weighted):
    x = rnd((4, 3), 6)
    p = np.random.default_rng(7).dirichlet(np.ones(3), size=4)
    w = rnd((3,), 8, 0.5, 2) if weighted else np.ones(3)
    lp = _log_softmax(x)
    for eps in (0.0, 0.3):
        q = p * (1 - eps) + eps / 3
        expected = -(lp * q * w).sum(1)
        out = F.cross_entropy(t32(x), t32(p), t32(w) if weighted else None, reduction="none",
                              label_smoothing=eps)
        np.testing.assert_allclose(npy(out), expected, rtol=1e-5)
        mean = F.cross_entropy(t32(x), t32(p), t32(w) if weighted else None, label_smoothing=eps)
        np.testing.assert_allclose(float(mean), expected.mean(), rtol=1e-5)
    # differentiable in both the logits and the soft targets
    check_fn_grads(lambda a, b: F.cross_entropy(a, b, t64(w, False), label_smoothing=0.1),
                   t64(x), t64(p))


def test_cross_entropy_stable_for_huge_logits():
    x = t32([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]], requires_grad=True)
    loss = F.cross_entropy(x, torchlite.tensor([1, 0]))
    assert np.isfinite(float(loss))
    np.testing.assert_allclose(float(loss), (2e4 + 1e4 + np.log(2)) / 2, rtol=1e-6)
    loss.backward()
    assert np.isfinite(npy(x.grad)).all()
    np.testing.assert_allclose(npy(x.grad)[0], [0.5, -0.5, 0.0], atol=1e-6)


def test_all_targets_ignored_gives_nan_mean():
    out = F.cross_entropy(t32(rnd((2, 3))), torchlite.tensor([-100, -100]))
    assert np.isnan(float(out))


def _ce_or_nll(fn, x, t, w, **kw):
    if fn == "nll_loss":
        kw.pop("label_smoothing", None)
        return F.nll_loss(x, t, w, **kw)
    return F.cross_entropy(x, t, w, **kw)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_all_targets_ignored_gives_zero_grads(fn, reduction, weighted, eps):
    # a padded batch with no real token: the mean is 0/0 = NaN, the gradients are exactly 0
    x = t32(rnd((3, 4, 2), 20), requires_grad=True)
    t = torchlite.tensor(np.full((3, 2), 1))
    w = t32([1.0, 2.0, 0.5, 3.0]) if weighted else None
    out = _ce_or_nll(fn, x, t, w, ignore_index=1, reduction=reduction, label_smoothing=eps)
    if reduction == "mean":
        assert np.isnan(float(out))
    else:
        assert (npy(out) == 0).all()
    out.sum().backward()
    g = npy(x.grad)
    assert (g == 0).all()
    if fn == "nll_loss":
        assert not np.signbit(g).any()  # +0, as PyTorch (which never writes ignored rows)
    # and in float64, where only some rows of the batch are ignored, gradcheck still holds
    check_fn_grads(lambda a: _ce_or_nll(fn, a, t, None if w is None else t64(npy(w), False),
                                        ignore_index=1, reduction="sum", label_smoothing=eps),
                   t64(rnd((3, 4, 2), 21)))


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_ignored_target_on_a_masked_logit_counts_zero():
    # the ignored row picks column 0 internally; a -inf there must not turn 0 * inf into NaN
    lp = np.array([[-np.inf, np.log(0.5), np.log(0.5)], np.log([0.2, 0.3, 0.5])])
    x = t32(lp, requires_grad=True)
    out = F.nll_loss(x, torchlite.tensor([-100, 2]), reduction="sum")
    np.testing.assert_allclose(float(out), -lp[1, 2], rtol=1e-6)
    out.backward()
    np.testing.assert_array_equal(npy(x.grad), [[0, 0, 0], [0, 0, -1]])
    logits = t32([[-np.inf, 1.0, 2.0], [0.0, 1.0, 2.0]], requires_grad=True)
    out = F.cross_entropy(logits, torchlite.tensor([-100, 1]), label_smoothing=0.1)
    assert np.isfinite(float(out))
    out.backward()
    assert np.isfinite(npy(logits.grad)).all() and (npy(logits.grad)[0] == 0).all()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_diverged_logits_give_nan_without_numpy_warnings():
    x = t32([[np.inf, 0.0, 1.0], [1.0, 2.0, 3.0]], requires_grad=True)
    out = F.cross_entropy(x, torchlite.tensor([1, 2]))
    assert np.isnan(float(out))
    out.backward()
    assert np.isnan(npy(x.grad)[0]).all() and np.isfinite(npy(x.grad)[1]).all()
    soft = F.cross_entropy(x, t32([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]))
    assert np.isnan(float(soft))


def test_cross_entropy_errors():
    x = t32(rnd((3, 4)))
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, torchlite.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(x, torchlite.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="Long"):
        F.cross_entropy(x, t32([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, torchlite.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="weight tensor"):
        F.cross_entropy(x, torchlite.tensor([0, 1, 2]), weight=t32([1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, torchlite.tensor([0, 1, 2]), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_reference_and_grads(reduction):
    x = _log_softmax(rnd((5, 3), 9))
    t = _targets((5,), 3, 10, ignore=1)
    t[0] = 0
    w = rnd((3,), 11, 0.5, 2)
    out = F.nll_loss(t32(x), torchlite.tensor(t), t32(w), ignore_index=1, reduction=reduction)
    valid = t != 1
    per = -x[np.arange(5), t] * w[t] * valid
    expected = {"none": per, "sum": per.sum(), "mean": per.sum() / (w[t] * valid).sum()}
    np.testing.assert_allclose(npy(out), expected[reduction], rtol=1e-5, atol=1e-7)
    check_fn_grads(lambda a: F.nll_loss(a, torchlite.tensor(t), t64(w, False), ignore_index=1,
                                        reduction=reduction), t64(x))


def test_modules_register_weight_buffer():
    w = t32([1.0, 2.0, 3.0])
    m = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    assert list(m.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.NLLLoss(weight=w).state_dict()) == ["weight"]
    assert repr(m) == "CrossEntropyLoss()"
    x, t = t32(rnd((4, 3))), torchlite.tensor([0, 1, 2, 1])
    np.testing.assert_allclose(float(m(x, t)), float(F.cross_entropy(x, t, w,
                                                                       label_smoothing=0.1)))
    np.testing.assert_allclose(float(nn.NLLLoss()(x, t)), float(F.nll_loss(x, t)))


def test_legacy_size_average_reduce():
    x, t = t32(rnd((4, 3))), torchlite.tensor([0, 1, 2, 1])
    with pytest.warns(UserWarning):
        s = F.cross_entropy(x, t, size_average=False)
    np.testing.assert_allclose(float(s), float(F.cross_entropy(x, t, reduction="sum")))
    with pytest.warns(UserWarning):
        m = nn.CrossEntropyLoss(reduce=False)
    assert m.reduction == "none"


@pytest.mark.parity
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [
    {}, {"weight": True}, {"ignore_index": 1}, {"label_smoothing": 0.25},
    {"weight": True, "ignore_index": 2, "label_smoothing": 0.1},
])
def test_cross_entropy_parity(reduction, options):
    torch = pytest.importorskip("torch")
    x = rnd((4, 5, 3), 12, -3, 3).astype(np.float32)
    t = _targets((4, 3), 5, 13)
    kw = dict(options)
    if kw.pop("weight", False):
        w = rnd((5,), 14, 0.3, 2).astype(np.float32)
        ours_w, theirs_w = t32(w), torch.tensor(w)
    else:
        ours_w = theirs_w = None
    a = t32(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    out = F.cross_entropy(a, torchlite.tensor(t), ours_w, reduction=reduction, **kw)
    ref = torch.nn.functional.cross_entropy(b, torch.tensor(t), theirs_w, reduction=reduction,
                                            **kw)
    np.testing.assert_allclose(npy(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rnd(tuple(out.shape), 15, 0.5, 1.5).astype(np.float32)
    (out * t32(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_prob_and_nll_parity(reduction):
    torch = pytest.importorskip("torch")
    x = rnd((4, 3), 16).astype(np.float32)
    p = np.random.default_rng(17).dirichlet(np.ones(3), size=4).astype(np.float32)
    w = rnd((3,), 18, 0.5, 2).astype(np.float32)
    a, pa = t32(x, True), t32(p, True)
    b, pb = torch.tensor(x, requires_grad=True), torch.tensor(p, requires_grad=True)
    out = F.cross_entropy(a, pa, t32(w), reduction=reduction, label_smoothing=0.2)
    ref = torch.nn.functional.cross_entropy(b, pb, torch.tensor(w), reduction=reduction,
                                            label_smoothing=0.2)
    np.testing.assert_allclose(npy(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(pa.grad), pb.grad.numpy(), rtol=1e-5, atol=1e-6)
    lp = _log_softmax(x.astype(np.float64)).astype(np.float32)
    t = np.array([0, 2, 1, 1])
    out = F.nll_loss(t32(lp), torchlite.tensor(t), t32(w), ignore_index=2, reduction=reduction)
    ref = torch.nn.functional.nll_loss(torch.tensor(lp), torch.tensor(t), torch.tensor(w),
                                       ignore_index=2, reduction=reduction)
    np.testing.assert_allclose(npy(out), ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("fn, options", [
    ("cross_entropy", {}), ("cross_entropy", {"weight": True}),
    ("cross_entropy", {"label_smoothing": 0.2}),
    ("cross_entropy", {"weight": True, "label_smoothing": 0.1}),
    ("nll_loss", {}), ("nll_loss", {"weight": True}),
])
def test_all_ignored_parity(fn, reduction, options):
    torch = pytest.importorskip("torch")
    x = rnd((4, 3, 2), 30).astype(np.float32)
    t = np.full((4, 2), 2)
    kw = dict(options, ignore_index=2, reduction=reduction)
    w = rnd((3,), 31, 0.5, 2).astype(np.float32) if kw.pop("weight", False) else None
    a = t32(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    out = getattr(F, fn)(a, torchlite.tensor(t), None if w is None else t32(w), **kw)
    ref = getattr(torch.nn.functional, fn)(b, torch.tensor(t),
                                           None if w is None else torch.tensor(w), **kw)
    np.testing.assert_allclose(npy(out), ref.detach().numpy(), equal_nan=True)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(npy(a.grad), b.grad.numpy())


def test_target_or_weight_on_another_device_is_refused_up_front():
    # targets and weights reach the Ops as raw arrays; a CPU target with GPU logits is the
    # common mistake. A cuda label on NumPy data reaches the check without a GPU.
    x = t32(rnd((3, 4)))
    on_gpu = torchlite.Tensor._make(np.array([0, 1, 3]), torchlite.device("cuda"))
    with pytest.raises(RuntimeError, match=r"cross_entropy.*same device.*\(target\)"):
        F.cross_entropy(x, on_gpu)
    with pytest.raises(RuntimeError, match=r"nll_loss.*same device.*\(target\)"):
        F.nll_loss(x, on_gpu)
    w = torchlite.Tensor._make(np.ones(4, dtype=np.float32), torchlite.device("cuda"))
    with pytest.raises(RuntimeError, match=r"cross_entropy.*same device.*\(weight\)"):
        F.cross_entropy(x, torchlite.tensor([0, 1, 3]), weight=w)



# -- cross_entropy's GPU path, exercised without a GPU: the kernels' NumPy references stand in
# for the kernels, and the loss and gradient must equal the CPU path's.


ce_module = importlib.import_module("torchlite.nn.functional.cross_entropy")


@pytest.fixture
def fused(monkeypatch):
    calls = []

    class Refs:
        @staticmethod
        def cross_entropy_forward(*a, **k):
            calls.append("forward")
            return kernels.cross_entropy_forward_reference(*a, **k)

        @staticmethod
        def cross_entropy_backward(*a, **k):
            calls.append("backward")
            return kernels.cross_entropy_backward_reference(*a, **k)

    monkeypatch.setattr(ce_module, "_kernels", lambda: Refs)
    return monkeypatch, calls


def _loss_and_grad(x, t, **kw):
    xt = torchlite.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, torchlite.tensor(t), **kw)
    loss.backward(torchlite.ones_like(loss))
    return loss.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("kw", [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 2},
    {"label_smoothing": 0.1}, {"weight": [0.5, 1.0, 2.0, 1.5, 0.2]},
    {"weight": [0.5, 1.0, 2.0, 1.5, 0.2], "label_smoothing": 0.2, "ignore_index": 0},
])
def test_fused_path_matches_cpu(kw, fused):
    monkeypatch, calls = fused
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    t = rng.integers(0, 5, 6)
    if "weight" in kw:
        kw = {**kw, "weight": torchlite.tensor(np.array(kw["weight"], dtype=np.float32))}
    ref_loss, ref_grad = _loss_and_grad(x, t, **kw)
    monkeypatch.setattr(ce_module, "_use_fused", lambda a, w: a.ndim == 2)
    loss, grad = _loss_and_grad(x, t, **kw)
    assert calls == ["forward", "backward"]
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-7)


def test_cpu_arrays_never_take_the_fused_path(fused):
    _, calls = fused
    _loss_and_grad(np.zeros((3, 4), np.float32), np.array([0, 1, 2]))
    assert calls == []
