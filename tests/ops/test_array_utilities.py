"""column_stack, row_stack, dstack, hsplit/vsplit/dsplit, tensor_split at indices, vander,
diagflat, combinations, unravel_index, trapezoid/cumulative_trapezoid, dist, renorm,
unique_consecutive, scalar_tensor, range, frombuffer, poisson, the dtype predicates and the
complex-number functions on real tensors: NumPy references, gradchecks and PyTorch parity."""

import itertools
import math

import numpy as np
import pytest
from _core_checks import check_grad, to_np

import torchlite

T = torchlite.tensor


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_stacking_and_splitting_match_numpy():
    a, b = rand(3), rand(3, seed=1)
    np.testing.assert_allclose(to_np(torchlite.column_stack([T(a), T(b)])), np.column_stack([a, b]))
    np.testing.assert_allclose(to_np(torchlite.row_stack([T(a), T(b)])), np.vstack([a, b]))
    np.testing.assert_allclose(to_np(torchlite.dstack([T(a), T(b)])), np.dstack([a, b]))
    m = rand(2, 3)
    np.testing.assert_allclose(to_np(torchlite.dstack([T(m), T(m)])), np.dstack([m, m]))
    x = rand(4, 6, 2)
    for fn, np_fn, arg in ((torchlite.hsplit, np.hsplit, 3), (torchlite.hsplit, np.hsplit, [1, 4]),
                           (torchlite.vsplit, np.vsplit, 2), (torchlite.dsplit, np.dsplit, [1])):
        got, want = fn(T(x), arg), np_fn(x, arg)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(to_np(g), w)
    for idx in ([2, 5], [2, 20, -3], [5, 2], T([1, 3])):
        got = torchlite.tensor_split(T(np.arange(10.0)), idx)
        want = np.array_split(np.arange(10.0), to_np(idx) if isinstance(idx, torchlite.Tensor)
                              else idx)
        assert [to_np(g).tolist() for g in got] == [w.tolist() for w in want]
    with pytest.raises(RuntimeError, match="not divisible by the split_size 4"):
        torchlite.hsplit(T(x), 4)
    with pytest.raises(RuntimeError, match="at least 3 dimension"):
        torchlite.dsplit(T(m), 1)
    check_grad(lambda p, q: torchlite.column_stack([p, q]), a, b)
    check_grad(lambda t: torchlite.hsplit(t, [1, 4])[1], x)


def test_structured_builders_match_numpy():
    v = rand(4)
    np.testing.assert_allclose(to_np(torchlite.vander(T(v))), np.vander(v))
    np.testing.assert_allclose(to_np(torchlite.vander(T(v), 3, increasing=True)),
                               np.vander(v, 3, increasing=True))
    assert torchlite.vander(T([1, 2, 3])).dtype == torchlite.int64
    check_grad(lambda t: torchlite.vander(t, 3), v)
    np.testing.assert_allclose(to_np(torchlite.diagflat(T(rand(2, 2)), -1)),
                               np.diagflat(rand(2, 2), -1))
    check_grad(lambda t: torchlite.diagflat(t, 1), rand(3))
    items = [5, 6, 7, 8]
    for r, rep in ((2, False), (3, False), (2, True), (0, False)):
        pick = itertools.combinations_with_replacement if rep else itertools.combinations
        got = torchlite.combinations(T(items), r, with_replacement=rep)
        assert to_np(got).tolist() == ([list(c) for c in pick(items, r)] if r else [])
    for idx, shape in (([0, 5, 11], (3, 4)), (7, (2, 2, 2)), ([-1], (3, 4))):
        got = torchlite.unravel_index(T(idx), shape)
        want = np.unravel_index(np.asarray(idx) % int(np.prod(shape)), shape)
        assert [to_np(g).tolist() for g in got] == [np.asarray(w).tolist() for w in want]
    with pytest.raises(ValueError, match="must be in range"):
        torchlite.unravel_index(T([12]), (3, 4))


def test_integration_distances_and_renorm():
    y, x = rand(3, 5), np.cumsum(np.abs(rand(5, seed=2))) + 0.1
    np.testing.assert_allclose(to_np(torchlite.trapezoid(T(y))), np.trapezoid(y))
    np.testing.assert_allclose(to_np(torchlite.trapezoid(T(y), T(x))), np.trapezoid(y, x))
    np.testing.assert_allclose(to_np(torchlite.trapz(T(y), dx=0.3)), np.trapezoid(y, dx=0.3))
    np.testing.assert_allclose(to_np(torchlite.trapezoid(T(y), dim=0)), np.trapezoid(y, axis=0))
    cum = to_np(torchlite.cumulative_trapezoid(T(y), T(x)))
    np.testing.assert_allclose(cum[:, -1], np.trapezoid(y, x))
    assert cum.shape == (3, 4)
    check_grad(lambda t, s: torchlite.trapezoid(t, s), y, x)
    check_grad(lambda t: torchlite.cumulative_trapezoid(t, dx=0.5, dim=0), y)
    a, b = rand(3, 4), rand(4, seed=3)
    for p in (1, 2, 3.5, math.inf):
        assert torchlite.dist(T(a), T(b), p).item() == pytest.approx(
            np.linalg.norm((a - b).ravel(), p))
    check_grad(lambda s, t: torchlite.dist(s, t, 3), a, b)
    w = rand(4, 3) * 3
    got = to_np(torchlite.renorm(T(w), 2, 0, 1.0))
    norms = np.linalg.norm(w, axis=1, keepdims=True)
    np.testing.assert_allclose(got, np.where(norms > 1, w / (norms + 1e-7), w), rtol=1e-6)
    check_grad(lambda t: torchlite.renorm(t, 1, 1, 2.0), w)


def test_unique_consecutive_and_creation():
    x = T([1, 1, 2, 2, 3, 1, 1, 2])
    values, inverse, counts = torchlite.unique_consecutive(x, return_inverse=True,
                                                          return_counts=True)
    assert to_np(values).tolist() == [1, 2, 3, 1, 2]
    assert to_np(inverse).tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert to_np(counts).tolist() == [2, 2, 1, 2, 1]
    rows = T([[1, 2], [1, 2], [3, 4], [1, 2]])
    assert to_np(rows.unique_consecutive(dim=0)).tolist() == [[1, 2], [3, 4], [1, 2]]
    s = torchlite.scalar_tensor(3)
    assert s.ndim == 0 and s.dtype == torchlite.float32 and s.item() == 3.0
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        r = torchlite.range(1, 2, 0.25)
    assert to_np(r).tolist() == [1.0, 1.25, 1.5, 1.75, 2.0]
    buf = bytearray(np.arange(4, dtype=np.int16).tobytes())
    shared = torchlite.frombuffer(buf, dtype=torchlite.int16, offset=2, count=2)
    assert to_np(shared).tolist() == [1, 2]
    buf[2] = 9  # shares the buffer's memory
    assert to_np(shared).tolist() == [9, 2]
    torchlite.manual_seed(0)
    draws = torchlite.poisson(T(np.full(20000, 3.0)))
    assert abs(float(draws.mean()) - 3.0) < 0.05 and draws.dtype == torchlite.float64


def test_predicates_and_complex_functions_on_real_tensors():
    x = T([[1.0, -2.0], [0.0, 3.0]])
    assert not torchlite.is_complex(x) and not x.is_complex()
    assert torchlite.is_signed(x) and not T([1], dtype=torchlite.uint8).is_signed()
    assert torchlite.is_nonzero(T([2.0])) and not T(0).is_nonzero()
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        torchlite.is_nonzero(x)
    with pytest.raises(RuntimeError, match="no values is ambiguous"):
        torchlite.is_nonzero(T([]))
    assert torchlite.is_same_size(x, x.clone()) and not x.is_same_size(x[0])
    assert torchlite.conj(x) is x and x.resolve_conj() is x and not x.is_conj()
    assert x.real is x and torchlite.real(x) is x
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        _ = x.imag
    np.testing.assert_allclose(to_np(torchlite.adjoint(x)), to_np(x).T)
    a = torchlite.angle(T([-1.0, 0.0, 2.0, math.nan]))
    assert to_np(a)[:3].tolist() == [pytest.approx(math.pi), 0.0, 0.0] and math.isnan(a[3].item())
    leaf = T([-1.0, 2.0], requires_grad=True)
    leaf.angle().sum().backward()
    assert to_np(leaf.grad).tolist() == [0.0, 0.0]


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    v = rand(4, seed=5)
    y, x = rand(2, 5, seed=6), np.linspace(0, 2, 5)
    w = rand(3, 4, seed=7) * 2
    cases = [
        lambda L: L.vander(L.tensor(v), 3),
        lambda L: L.diagflat(L.tensor(v), -1),
        lambda L: L.combinations(L.tensor(v), 3),
        lambda L: L.trapezoid(L.tensor(y), L.tensor(x)),
        lambda L: L.cumulative_trapezoid(L.tensor(y), dx=0.7),
        lambda L: L.dist(L.tensor(w), L.tensor(w[0]), 1.5),
        lambda L: L.renorm(L.tensor(w), 2, 1, 1.0),
        lambda L: L.column_stack([L.tensor(v), L.tensor(v)]),
        lambda L: L.dstack([L.tensor(w), L.tensor(w)]),
        lambda L: L.angle(L.tensor(v)),
    ]
    for fn in cases:
        mine, theirs = to_np(fn(torchlite)), fn(torch).numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    for fn in (lambda L: L.unravel_index(L.tensor([3, 7, 11]), (3, 4)),
               lambda L: L.unique_consecutive(L.tensor([1, 1, 3, 3, 1]), return_counts=True),
               lambda L: L.hsplit(L.arange(12).reshape(2, 6), [1, 3])):
        assert [to_np(a).tolist() for a in fn(torchlite)] == [a.tolist() for a in fn(torch)]
