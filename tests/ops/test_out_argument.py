"""PyTorch's `out=` argument: result written into `out`, `out` returned, resizing, dtype and
autograd rules (ops/out.py: with_out and creation_out)."""

import warnings

import numpy as np
import pytest

import torchlite

# (name, args builder over a module `m` and a float32 2x3 tensor `x`) for ops that take out=
CASES = [
    ("exp", lambda m, x: (x,), {}),
    ("log", lambda m, x: (x.abs() + 1,), {}),
    ("sin", lambda m, x: (x,), {}),
    ("sqrt", lambda m, x: (x.abs(),), {}),
    ("sigmoid", lambda m, x: (x,), {}),
    ("tanh", lambda m, x: (x,), {}),
    ("abs", lambda m, x: (x,), {}),
    ("neg", lambda m, x: (x,), {}),
    ("floor", lambda m, x: (x,), {}),
    ("add", lambda m, x: (x, x), {"alpha": 2}),
    ("mul", lambda m, x: (x, x), {}),
    ("div", lambda m, x: (x, 2.0), {}),
    ("maximum", lambda m, x: (x, -x), {}),
    ("atan2", lambda m, x: (x, x + 3), {}),
    ("eq", lambda m, x: (x, x), {}),
    ("matmul", lambda m, x: (x, x.T), {}),
    ("mm", lambda m, x: (x, x.T), {}),
    ("bmm", lambda m, x: (x[None], x.T[None]), {}),
    ("mv", lambda m, x: (x, x[0]), {}),
    ("dot", lambda m, x: (x[0], x[1]), {}),
    ("sum", lambda m, x: (x, 0), {}),
    ("mean", lambda m, x: (x, 1), {"keepdim": True}),
    ("prod", lambda m, x: (x, 0), {}),
    ("amax", lambda m, x: (x, 0), {}),
    ("amin", lambda m, x: (x, 1), {}),
    ("argmax", lambda m, x: (x, 0), {}),
    ("argmin", lambda m, x: (x, 1), {}),
    ("logsumexp", lambda m, x: (x, 0), {}),
    ("cumsum", lambda m, x: (x, 1), {}),
    ("cumprod", lambda m, x: (x, 0), {}),
    ("std", lambda m, x: (x, 0), {}),
    ("var", lambda m, x: (x, 1), {}),
    ("cat", lambda m, x: ([x, x], 1), {}),
    ("stack", lambda m, x: ([x, x],), {}),
    ("where", lambda m, x: (x > 0, x, -x), {}),
    ("clamp", lambda m, x: (x, -0.5, 0.5), {}),
]


def _x(m):
    return m.tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_out_matches_plain_call(name, args, kwargs):
    fn = getattr(torchlite, name)
    a = args(torchlite, _x(torchlite))
    expected = fn(*a, **kwargs)
    out = torchlite.empty(0, dtype=expected.dtype)
    r = fn(*a, **kwargs, out=out)
    assert r is out
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_out_same_shape_writes_in_place_without_warning():
    x = _x(torchlite)
    out = torchlite.zeros(2, 3)
    base = out._data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torchlite.exp(x, out=out)
    assert out._data is base
    np.testing.assert_allclose(out.numpy(), np.exp(x.numpy()))


def test_out_resizing_a_nonempty_tensor_warns():
    with pytest.warns(UserWarning, match="was resized"):
        r = torchlite.exp(_x(torchlite), out=torchlite.zeros(5))
    assert r.shape == (2, 3)


def test_out_view_writes_into_base():
    base = torchlite.zeros(2, 3)
    torchlite.exp(torchlite.zeros(3), out=base[0])
    np.testing.assert_array_equal(base.numpy(), [[1, 1, 1], [0, 0, 0]])


def test_out_aliasing_input():
    y = torchlite.ones(3)
    torchlite.exp(y, out=y)
    np.testing.assert_allclose(y.numpy(), np.e)


def test_out_dtype_rules():
    x = _x(torchlite)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        torchlite.exp(x, out=torchlite.zeros(2, 3, dtype=torchlite.int64))
    with pytest.raises(RuntimeError, match="can't be cast"):
        torchlite.add(torchlite.tensor([1, 2]), 1, out=torchlite.zeros(2, dtype=torchlite.bool))
    assert torchlite.exp(x, out=torchlite.zeros(0, dtype=torchlite.float64)).dtype \
        == torchlite.float64
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype"):
        torchlite.mm(x, x.T, out=torchlite.zeros(2, 2, dtype=torchlite.float64))
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype"):
        torchlite.argmax(x, 0, out=torchlite.zeros(3))


def test_out_autograd_error():
    a = torchlite.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torchlite.exp(a, out=torchlite.zeros(3))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torchlite.cat([a, a], out=torchlite.zeros(6))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torchlite.exp(torchlite.zeros(3), out=torchlite.zeros(3, requires_grad=True))
    with torchlite.no_grad():
        out = torchlite.zeros(3)
        assert torchlite.exp(a, out=out) is out
    assert out.grad_fn is None


def test_out_max_min_pairs():
    x = _x(torchlite)
    v, i = torchlite.zeros(0), torchlite.zeros(0, dtype=torchlite.int64)
    r = torchlite.max(x, 0, out=(v, i))
    assert r.values is v and r.indices is i
    np.testing.assert_array_equal(i.numpy(), x.numpy().argmax(0))
    with pytest.warns(UserWarning, match="resized"):
        torchlite.min(x, 1, out=[v, i])
    np.testing.assert_array_equal(v.numpy(), x.numpy().min(1))
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype"):
        torchlite.max(x, 0, out=(torchlite.zeros(3), torchlite.zeros(3)))


def test_out_creation():
    y = torchlite.zeros(1, dtype=torchlite.float64)
    r = torchlite.randn(2, 3, out=y)
    assert r is y and y.shape == (2, 3) and y.dtype == torchlite.float64
    with pytest.raises(RuntimeError, match="does not match dtype of out"):
        torchlite.randn(2, dtype=torchlite.float32, out=y)
    np.testing.assert_array_equal(torchlite.arange(5, out=torchlite.zeros(5)).numpy(),
                                  np.arange(5, dtype=np.float32))
    assert torchlite.zeros(2, out=torchlite.ones(3, dtype=torchlite.int64)).tolist() == [0, 0]
    assert torchlite.ones(2, out=torchlite.zeros(0)).tolist() == [1.0, 1.0]
    assert torchlite.full((2,), 3.5, out=torchlite.zeros(0, dtype=torchlite.int64)).tolist() \
        == [3, 3]
    assert torchlite.eye(2, out=torchlite.zeros(0)).tolist() == [[1, 0], [0, 1]]
    assert torchlite.linspace(0, 1, 3, out=torchlite.zeros(0)).tolist() == [0, 0.5, 1]
    assert torchlite.empty(2, 2, out=torchlite.zeros(0)).shape == (2, 2)
    assert torchlite.rand(4, out=torchlite.zeros(0)).shape == (4,)
    r = torchlite.randint(0, 5, (3,), out=torchlite.zeros(0, dtype=torchlite.int64))
    assert r.dtype == torchlite.int64 and r.shape == (3,)


def test_out_bad_type():
    with pytest.raises(TypeError):
        torchlite.exp(torchlite.zeros(2), out=np.zeros(2))


# PyTorch parity


def _both(torch, fn_name, args, kwargs, out_dtype="float32", out_shape=(0,)):
    res = []
    for m in (torchlite, torch):
        out = m.zeros(*out_shape, dtype=getattr(m, out_dtype)) if out_shape != () else \
            m.zeros((), dtype=getattr(m, out_dtype))
        r = getattr(m, fn_name)(*args(m, _x(m)), **kwargs, out=out)
        assert r is out
        res.append(out)
    return res


@pytest.mark.parity
@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_parity_out_values(name, args, kwargs):
    torch = pytest.importorskip("torch")
    ref = getattr(torch, name)(*args(torch, _x(torch)), **kwargs)
    dt = str(ref.dtype).split(".")[1]
    ours, theirs = _both(torch, name, args, kwargs, out_dtype=dt)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("name, args, kwargs, out_dtype", [
    ("exp", lambda m, x: (x,), {}, "int64"),
    ("exp", lambda m, x: (x,), {}, "float64"),
    ("add", lambda m, x: (x, x), {}, "float64"),
    ("mm", lambda m, x: (x, x.T), {}, "float64"),
    ("matmul", lambda m, x: (x, x.T), {}, "float64"),
    ("sum", lambda m, x: (x, 0), {}, "int64"),
    ("mean", lambda m, x: (x, 0), {}, "int64"),
    ("argmax", lambda m, x: (x, 0), {}, "float32"),
    ("cat", lambda m, x: ([x, x],), {}, "float64"),
    ("cat", lambda m, x: ([x, x],), {}, "int64"),
    ("amax", lambda m, x: (x, 0), {}, "float64"),
    ("eq", lambda m, x: (x, x), {}, "float32"),
    ("sigmoid", lambda m, x: (x,), {}, "int32"),
])
def test_parity_out_dtype_rules(name, args, kwargs, out_dtype):
    torch = pytest.importorskip("torch")
    outcomes = []
    for m in (torchlite, torch):
        try:
            out = m.zeros(0, dtype=getattr(m, out_dtype))
            r = getattr(m, name)(*args(m, _x(m)), **kwargs, out=out)
            outcomes.append(("ok", str(r.dtype).split(".")[1]))
        except (RuntimeError, TypeError):
            outcomes.append(("error", None))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parity
def test_parity_out_resize_warning_and_autograd():
    torch = pytest.importorskip("torch")
    for m in (torchlite, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m.exp(_x(m), out=m.zeros(5))
            m.exp(_x(m), out=m.zeros(0))
        assert len([x for x in w if "resized" in str(x.message)]) == 1
        a = m.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            m.exp(a, out=m.zeros(3))
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            m.mul(a, a, out=m.zeros(3))


@pytest.mark.parity
def test_parity_out_tutorial_and_creation():
    torch = pytest.importorskip("torch")
    res = []
    for m in (torchlite, torch):
        t = m.ones(4, 4)
        t[:, 1] = 0
        y3 = m.rand_like(t)
        m.matmul(t, t.T, out=y3)
        z3 = m.rand_like(t)
        m.mul(t, t, out=z3)
        v, i = m.zeros(0), m.zeros(0, dtype=m.int64)
        m.max(t, 0, out=(v, i))
        r = m.randn(2, 3, out=m.zeros(1, dtype=m.float64))
        a = m.arange(5, out=m.zeros(5))
        f = m.full((2,), 3.5, out=m.zeros(0, dtype=m.int64))
        res.append([y3.numpy(), z3.numpy(), v.numpy(), i.numpy(), r.shape, str(r.dtype)[-7:],
                    a.numpy(), f.numpy()])
    for a, b in zip(*res):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert tuple(a) == tuple(b) if not isinstance(a, str) else a == b
