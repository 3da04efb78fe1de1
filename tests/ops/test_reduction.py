"""Reductions: forward vs NumPy (float32), float64 gradchecks, ties, dtypes, bad dims."""

import warnings

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, leaf, noncontig_leaf, to_np

import torchlite


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else (r.reshape(()) if axis is None else np.squeeze(r, axis=axis))


# name -> (torchlite call with (x, dim, keepdim), NumPy reference with (x, axis, keepdims))
REDUCTIONS = {
    "sum": (lambda x, d, k: torchlite.sum(x, d, k), lambda x, a, k: np.sum(x, a, keepdims=k)),
    "mean": (lambda x, d, k: x.mean(d, k), lambda x, a, k: np.mean(x, a, keepdims=k)),
    "var": (lambda x, d, k: torchlite.var(x, d, keepdim=k),
            lambda x, a, k: np.var(x, a, ddof=1, keepdims=k)),
    "var_c0": (lambda x, d, k: x.var(d, keepdim=k, correction=0),
               lambda x, a, k: np.var(x, a, keepdims=k)),
    "var_c2": (lambda x, d, k: x.var(d, keepdim=k, correction=2),
               lambda x, a, k: np.var(x, a, ddof=2, keepdims=k)),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda x, a, k: np.std(x, a, ddof=1, keepdims=k)),
    "std_biased": (lambda x, d, k: torchlite.std(x, d, unbiased=False, keepdim=k),
                   lambda x, a, k: np.std(x, a, keepdims=k)),
    "amax": (lambda x, d, k: torchlite.amax(x, () if d is None else d, k),
             lambda x, a, k: np.max(x, a, keepdims=k)),
    "amin": (lambda x, d, k: x.amin(() if d is None else d, k),
             lambda x, a, k: np.min(x, a, keepdims=k)),
    "logsumexp": (lambda x, d, k: torchlite.logsumexp(x, tuple(range(x.ndim)) if d is None else d,
                                                      k),
                  _lse),
    "norm": (lambda x, d, k: torchlite.norm(x, dim=d, keepdim=k),
             lambda x, a, k: np.sqrt(np.sum(x * x, a, keepdims=k))),
    "norm1": (lambda x, d, k: x.norm(1, d, k), lambda x, a, k: np.sum(np.abs(x), a, keepdims=k)),
    "norm3": (lambda x, d, k: x.norm(3, d, k),
              lambda x, a, k: np.sum(np.abs(x) ** 3, a, keepdims=k) ** (1 / 3)),
    "norm_inf": (lambda x, d, k: x.norm(float("inf"), d, k),
                 lambda x, a, k: np.max(np.abs(x), a, keepdims=k)),
    "norm_ninf": (lambda x, d, k: x.norm(float("-inf"), d, k),
                  lambda x, a, k: np.min(np.abs(x), a, keepdims=k)),
}

DIMS = [(None, False), (0, False), (-1, True), ((0, 2), False), ((0, 2), True), (1, True)]


def _x(shape=(3, 3, 4), seed=0):
    return data(shape, seed, away_from_zero=True)


@pytest.mark.parametrize("dim, keepdim", DIMS, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_forward_matches_numpy(name, dim, keepdim, device):
    fn, ref = REDUCTIONS[name]
    check_forward(lambda x: fn(x, dim, keepdim), lambda x: ref(x, dim, keepdim), _x(),
                  device=device, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim, keepdim", DIMS, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_gradcheck(name, dim, keepdim):
    fn, _ = REDUCTIONS[name]
    check_grad(lambda x: fn(x, dim, keepdim), _x((3, 3, 3), seed=1))


@pytest.mark.parametrize("name", ["sum", "mean", "var", "logsumexp", "norm", "amax"])
@pytest.mark.parametrize("kind", ["T", "step"])
def test_gradcheck_noncontiguous(name, kind):
    fn, ref = REDUCTIONS[name]
    a = _x((3, 4), seed=2)
    x = noncontig_leaf(a, kind)
    check_grad(lambda t: fn(t, 0, False), x)
    np.testing.assert_allclose(to_np(fn(x, 0, False)), ref(a, 0, False), rtol=1e-12)


def test_scalar_input_reductions():
    x = leaf(2.5)
    for fn in (torchlite.sum, torchlite.mean, torchlite.amax, torchlite.prod, torchlite.norm):
        out = fn(x)
        assert out.shape == () and abs(out.item() - 2.5) < 1e-12
    check_grad(lambda t: t.sum() + t.mean(0) + t.norm(), np.array(1.5))


# --------------------------------------------------------------------------------------------
# prod, cumsum, cumprod


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("zeros", [0, 1, 2])
def test_prod_with_zeros(dim, zeros):
    a = data((3, 4), 3, away_from_zero=True)
    a.flat[[5, 6][:zeros]] = 0.0
    fn = (lambda x: x.prod()) if dim is None else (lambda x: torchlite.prod(x, dim))
    check_forward(fn, lambda x: np.prod(x, dim), a)
    check_grad(fn, a)


def test_prod_keepdim_and_int():
    a = data((2, 3), 4)
    check_grad(lambda x: x.prod(1, keepdim=True), a)
    i = torchlite.tensor([[1, 2], [3, 4]])
    assert i.prod().item() == 24 and i.prod().dtype == torchlite.int64
    assert torchlite.tensor([1, 2], dtype=torchlite.int32).prod().dtype == torchlite.int64


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim, device):
    a = _x((3, 4), seed=5)
    check_forward(lambda x: torchlite.cumsum(x, dim), lambda x: np.cumsum(x, dim), a,
                  device=device)
    check_grad(lambda x: x.cumsum(dim), a)


def test_cumsum_dtypes():
    i = torchlite.tensor([1, 2, 3], dtype=torchlite.int32)
    assert i.cumsum(0).dtype == torchlite.int64
    np.testing.assert_array_equal(to_np(i.cumsum(0)), [1, 3, 6])
    assert torchlite.tensor([True, True]).cumsum(0).dtype == torchlite.int64
    assert torchlite.ones(2).cumsum(0, dtype=torchlite.float64).dtype == torchlite.float64


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod(dim):
    a = data((3, 3), 6, away_from_zero=True)
    a[1, 1] = 0.0
    check_forward(lambda x: torchlite.cumprod(x, dim), lambda x: np.cumprod(x, dim), a)
    check_grad(lambda x: torchlite.cumprod(x, dim), a)


# --------------------------------------------------------------------------------------------
# max / min / argmax


def test_max_min_whole_tensor_and_ties():
    x = leaf([[1.0, 5.0], [5.0, -2.0]], dtype=torchlite.float32)
    assert x.max().item() == 5.0 and x.min().item() == -2.0
    x.max().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[0.0, 0.5], [0.5, 0.0]])  # ties share evenly


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_min_along_dim(dim, keepdim, device):
    a = _x((3, 4), seed=8).astype(np.float32)
    x = torchlite.tensor(a, device=device)
    for fn, ref, arg in ((torchlite.max, np.max, np.argmax), (torchlite.min, np.min, np.argmin)):
        r = fn(x, dim, keepdim)
        values, indices = r
        assert r.values is values and r.indices is indices
        np.testing.assert_array_equal(to_np(values), ref(a, dim, keepdims=keepdim))
        np.testing.assert_array_equal(to_np(indices), arg(a, dim, keepdims=keepdim))
        assert indices.dtype == torchlite.int64 and not indices.requires_grad
    check_grad(lambda t: torchlite.max(t, dim, keepdim).values, a.astype(np.float64))
    check_grad(lambda t: t.min(dim=dim, keepdim=keepdim)[0], a.astype(np.float64))


def test_max_along_dim_gradient_goes_to_returned_index():
    x = leaf([[3.0, 3.0, 1.0]])
    v, i = x.max(1)
    v.sum().backward()
    grad = np.zeros((1, 3))
    grad[0, i.item()] = 1.0
    np.testing.assert_array_equal(to_np(x.grad), grad)


def test_max_with_other_tensor_is_maximum():
    a, b = torchlite.tensor([1.0, 4.0]), torchlite.tensor([3.0, 2.0])
    np.testing.assert_array_equal(to_np(torchlite.max(a, b)), [3.0, 4.0])
    np.testing.assert_array_equal(to_np(torchlite.min(a, other=b)), [1.0, 2.0])


def test_amax_ties_split_evenly():
    x = leaf([[2.0, 2.0, 1.0], [0.0, 3.0, 3.0]])
    torchlite.amax(x, 1).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    x.grad = None
    x.amin().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])


def test_aminmax():
    r = torchlite.aminmax(torchlite.tensor([[1.0, -2.0], [4.0, 0.0]]), dim=0)
    np.testing.assert_array_equal(to_np(r.min), [1.0, -2.0])
    np.testing.assert_array_equal(to_np(r.max), [4.0, 0.0])


@pytest.mark.parametrize("dim, keepdim", [(None, False), (None, True), (0, False), (1, True)])
def test_argmax_argmin(dim, keepdim):
    a = _x((3, 4), seed=9)
    x = torchlite.tensor(a)
    for fn, ref in ((torchlite.argmax, np.argmax), (torchlite.argmin, np.argmin)):
        r = fn(x, dim, keepdim)
        assert r.dtype == torchlite.int64
        np.testing.assert_array_equal(to_np(r), ref(a, dim, keepdims=keepdim))


def test_max_of_int_tensor():
    i = torchlite.tensor([[3, 7], [9, 1]])
    assert i.max().item() == 9 and i.max().dtype == torchlite.int64
    v, idx = i.max(0)
    np.testing.assert_array_equal(to_np(v), [9, 7])
    np.testing.assert_array_equal(to_np(idx), [1, 0])


# --------------------------------------------------------------------------------------------
# special values


def test_norm_at_zero_has_zero_gradient():
    x = leaf(np.zeros((2, 3)))
    torchlite.norm(x).backward()
    np.testing.assert_array_equal(to_np(x.grad), np.zeros((2, 3)))
    x.grad = None
    x.norm(dim=1).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), np.zeros((2, 3)))


def test_norm_p0_counts_nonzeros():
    x = torchlite.tensor([[0.0, 2.0, -1.0], [0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(to_np(x.norm(0, dim=1)), [2.0, 1.0])


def test_logsumexp_is_stable():
    x = torchlite.tensor([1000.0, 1000.0, -1000.0])
    np.testing.assert_allclose(to_np(torchlite.logsumexp(x, 0)), 1000.0 + np.log(2.0))
    ninf = torchlite.tensor([-np.inf, -np.inf])
    assert to_np(torchlite.logsumexp(ninf, 0)) == -np.inf
    assert torchlite.logsumexp(torchlite.tensor([1, 2]), 0).dtype == torchlite.float32


def test_var_std_of_one_element_is_nan_and_correction_zero_is_zero():
    x = torchlite.tensor([3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.isnan(x.var().item()) and np.isnan(x.std().item())
        assert torchlite.tensor([1.0, 2.0]).var(correction=2).item() == np.inf
    # PyTorch's UserWarning, pointing at the caller; no NumPy RuntimeWarning
    assert [w.category for w in caught] == [UserWarning] * 3
    assert "degrees of freedom is <= 0" in str(caught[0].message)
    assert all(w.filename == __file__ for w in caught)
    assert x.var(correction=0).item() == 0.0
    assert torchlite.tensor([1.0, 2.0, 4.0]).var(False).item() == pytest.approx(14 / 9, 1e-6)


def test_var_mean_std_mean():
    a = _x((3, 4), seed=11)
    v, m = torchlite.var_mean(torchlite.tensor(a, dtype=torchlite.float64), 1)
    np.testing.assert_allclose(to_np(v), np.var(a, 1, ddof=1))
    np.testing.assert_allclose(to_np(m), np.mean(a, 1))
    s, m = torchlite.std_mean(torchlite.tensor(a, dtype=torchlite.float64), dim=0,
                              correction=0)
    np.testing.assert_allclose(to_np(s), np.std(a, 0))


# --------------------------------------------------------------------------------------------
# dtypes


def test_reduction_dtypes():
    i = torchlite.tensor([[1, 2], [3, 4]], dtype=torchlite.int32)
    b = torchlite.tensor([True, False, True])
    f = torchlite.ones(2, 2)
    assert i.sum().dtype == torchlite.int64 and i.sum().item() == 10
    assert b.sum().dtype == torchlite.int64 and b.sum().item() == 2
    assert i.sum(dtype=torchlite.float64).dtype == torchlite.float64
    assert f.sum().dtype == f.mean().dtype == f.var().dtype == f.norm().dtype == torchlite.float32
    assert f.logsumexp(0).dtype == f.prod().dtype == f.amax().dtype == torchlite.float32
    assert i.mean(dtype=torchlite.float32).item() == 2.5
    assert f.double().sum().dtype == torchlite.float64
    assert torchlite.count_nonzero(torchlite.tensor([0, 1, 2])).item() == 2


def test_float32_grads_stay_float32():
    x = leaf(data((2, 3)), dtype=torchlite.float32)
    (x.sum() + x.mean() + x.var() + x.std() + x.prod() + x.amax() + x.norm()
     + x.logsumexp(1).sum() + x.max(0).values.sum() + x.cumsum(1).sum()).backward()
    assert x.grad.dtype == torchlite.float32


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "amax", "amin", "logsumexp",
                                "norm", "cumsum", "argmax", "max", "min", "prod"])
def test_bad_dim_raises_index_error_naming_op(op):
    x = torchlite.ones(2, 3)
    fn = getattr(torchlite, op)
    with pytest.raises(IndexError) as exc:
        if op == "norm":
            fn(x, dim=2)
        else:
            fn(x, 2)
    assert op in str(exc.value) and "range" in str(exc.value)


def test_repeated_dims():
    with pytest.raises(RuntimeError, match="sum.*multiple times"):
        torchlite.ones(2, 3).sum((1, -1))


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_nan_and_inf_edge_cases_match_pytorch_without_numpy_warnings():
    e = leaf(np.zeros((0, 3)))
    m = e.mean()
    assert np.isnan(m.item())  # 0/0, as PyTorch
    m.backward()
    assert tuple(e.grad.shape) == (0, 3)
    np.testing.assert_array_equal(to_np(torchlite.zeros(0, 3).mean(0)), [np.nan] * 3)
    assert tuple(torchlite.zeros(0, 3).mean(1).shape) == (0,)
    c = leaf([2.0, 2.0, 2.0])
    s = c.std()
    s.backward()  # a constant: std 0, gradient 0 (not inf * 0), as PyTorch
    assert s.item() == 0.0 and to_np(c.grad).tolist() == [0.0, 0.0, 0.0]
    big = leaf(np.array([3e38, -3e38], dtype=np.float32), dtype=torchlite.float32)
    v = big.var()
    v.backward()
    assert v.item() == np.inf and to_np(big.grad).tolist() == [np.inf, -np.inf]
    ninf = leaf([-np.inf, -np.inf])
    lse = ninf.logsumexp(0)
    lse.backward()  # exp(-inf - -inf): NaN, as PyTorch
    assert lse.item() == -np.inf and np.isnan(to_np(ninf.grad)).all()
    n = leaf([np.nan, 1.0])
    n.amax().backward()
    assert np.isnan(to_np(n.grad)).all()


@pytest.mark.parity
def test_std_of_constant_gradient_parity():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], dtype=np.float32)
    x, y = torchlite.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    x.std(1).sum().backward()
    y.std(1).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), y.grad.numpy(), rtol=1e-6)


def test_empty_reductions():
    e = torchlite.zeros(0, 3)
    assert e.sum().item() == 0.0
    with pytest.raises(IndexError, match=r"max.*\(0, 3\)"):
        e.max()
    with pytest.raises(IndexError, match="argmax"):
        e.argmax()
    np.testing.assert_array_equal(to_np(e.amax(1)), np.zeros(0))


def test_mean_of_integers_errors():
    with pytest.raises(RuntimeError, match="mean"):
        torchlite.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="var"):
        torchlite.tensor([1, 2]).var()
    with pytest.raises(RuntimeError, match="std"):
        torchlite.tensor([1, 2]).std()


# --------------------------------------------------------------------------------------------
# PyTorch parity


@pytest.mark.parity
@pytest.mark.parametrize("case", ["max", "min", "amax", "amin", "max_dim", "norm0", "norm_inf",
                                  "std", "var_c0", "std_dim", "logsumexp", "prod0", "cumsum",
                                  "cumprod", "mean"])
def test_parity_with_torch(case):
    torch = pytest.importorskip("torch")
    vals = [[1.0, 3.0, 3.0, -2.0], [0.0, 0.0, 0.5, -4.0], [2.0, -4.0, 2.0, 4.0]]
    fns = {
        "max": lambda m, x: x.max(),
        "min": lambda m, x: x.min(),
        "amax": lambda m, x: m.amax(x, dim=1),
        "amin": lambda m, x: m.amin(x, dim=(0, 1)),
        "max_dim": lambda m, x: m.max(x, 0).values,
        "norm0": lambda m, x: (x * 0).norm() + x[1:2, :2].norm(dim=1).sum(),
        "norm_inf": lambda m, x: x.norm(float("inf"), dim=1),
        "std": lambda m, x: x.std(),
        "var_c0": lambda m, x: x.var(dim=1, correction=0),
        "std_dim": lambda m, x: x.std(0, keepdim=True),
        "logsumexp": lambda m, x: m.logsumexp(x * 100, 1),
        "prod0": lambda m, x: x.prod(1),
        "cumsum": lambda m, x: x.cumsum(1),
        "cumprod": lambda m, x: m.cumprod(x, 1),
        "mean": lambda m, x: x.mean((0, 1), keepdim=True),
    }
    res = []
    for m in (torchlite, torch):
        x = m.tensor(vals, requires_grad=True)
        y = fns[case](m, x)
        w = m.arange(1, y.numel() + 1, dtype=m.float32).reshape(y.shape)
        (y * w).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5, atol=1e-5)


def test_argmax_over_a_non_empty_dim_of_an_empty_tensor():
    out = torchlite.zeros(0, 3).argmax(1)
    assert tuple(out.shape) == (0,) and out.dtype == torchlite.int64
    with pytest.raises(IndexError, match="argmax"):
        torchlite.zeros(3, 0).argmax(1)
