"""NumPy-style keyword aliases PyTorch accepts: `axis=` for `dim=` and `keepdims=` for
`keepdim=` (x.max(axis=1), x.mean(1, keepdims=True)), on the functions and the Tensor methods."""

import numpy as np
import pytest

import torchlite


def _x(torch):
    return torch.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32))


# name -> call(torch, x, **kwargs); kwargs name the dim as dim= or axis=
OPS = {
    "sum": lambda t, x, **k: t.sum(x, **k), "x.sum": lambda t, x, **k: x.sum(**k),
    "mean": lambda t, x, **k: t.mean(x, **k), "x.mean": lambda t, x, **k: x.mean(**k),
    "prod": lambda t, x, **k: t.prod(x, **k), "x.prod": lambda t, x, **k: x.prod(**k),
    "std": lambda t, x, **k: t.std(x, **k), "x.std": lambda t, x, **k: x.std(**k),
    "var": lambda t, x, **k: t.var(x, **k), "x.var": lambda t, x, **k: x.var(**k),
    "std_mean": lambda t, x, **k: t.std_mean(x, **k),
    "var_mean": lambda t, x, **k: t.var_mean(x, **k),
    "max": lambda t, x, **k: t.max(x, **k), "x.max": lambda t, x, **k: x.max(**k),
    "min": lambda t, x, **k: t.min(x, **k), "x.min": lambda t, x, **k: x.min(**k),
    "amax": lambda t, x, **k: t.amax(x, **k), "x.amax": lambda t, x, **k: x.amax(**k),
    "amin": lambda t, x, **k: t.amin(x, **k), "x.amin": lambda t, x, **k: x.amin(**k),
    "aminmax": lambda t, x, **k: t.aminmax(x, **k), "x.aminmax": lambda t, x, **k: x.aminmax(**k),
    "argmax": lambda t, x, **k: t.argmax(x, **k), "x.argmax": lambda t, x, **k: x.argmax(**k),
    "argmin": lambda t, x, **k: t.argmin(x, **k), "x.argmin": lambda t, x, **k: x.argmin(**k),
    "any": lambda t, x, **k: t.any(x > 0, **k), "x.any": lambda t, x, **k: (x > 0).any(**k),
    "all": lambda t, x, **k: t.all(x > 0, **k), "x.all": lambda t, x, **k: (x > 0).all(**k),
    "logsumexp": lambda t, x, **k: t.logsumexp(x, **k),
    "x.logsumexp": lambda t, x, **k: x.logsumexp(**k),
    "median": lambda t, x, **k: t.median(x, **k), "x.median": lambda t, x, **k: x.median(**k),
    "kthvalue": lambda t, x, **k: t.kthvalue(x, 2, **k),
    "x.kthvalue": lambda t, x, **k: x.kthvalue(2, **k),
}
# ops with a dim but no keepdim: axis= only
AXIS_ONLY = {
    "cumsum": lambda t, x, **k: t.cumsum(x, **k), "x.cumsum": lambda t, x, **k: x.cumsum(**k),
    "cumprod": lambda t, x, **k: t.cumprod(x, **k),
    "x.cumprod": lambda t, x, **k: x.cumprod(**k),
    "count_nonzero": lambda t, x, **k: t.count_nonzero(x, **k),
    "softmax": lambda t, x, **k: t.softmax(x, **k), "x.softmax": lambda t, x, **k: x.softmax(**k),
    "log_softmax": lambda t, x, **k: t.log_softmax(x, **k),
    "x.log_softmax": lambda t, x, **k: x.log_softmax(**k),
    "sort": lambda t, x, **k: t.sort(x, **k), "x.sort": lambda t, x, **k: x.sort(**k),
    "argsort": lambda t, x, **k: t.argsort(x, **k),
    "x.argsort": lambda t, x, **k: x.argsort(**k),
    "topk": lambda t, x, **k: t.topk(x, 2, **k), "x.topk": lambda t, x, **k: x.topk(2, **k),
    "cat": lambda t, x, **k: t.cat([x, x], **k), "concat": lambda t, x, **k: t.concat([x, x], **k),
    "concatenate": lambda t, x, **k: t.concatenate([x, x], **k),
    "stack": lambda t, x, **k: t.stack([x, x], **k),
    "chunk": lambda t, x, **k: t.chunk(x, 2, **k), "x.chunk": lambda t, x, **k: x.chunk(2, **k),
    "tensor_split": lambda t, x, **k: t.tensor_split(x, 2, **k),
    "unbind": lambda t, x, **k: t.unbind(x, **k), "x.unbind": lambda t, x, **k: x.unbind(**k),
    "squeeze": lambda t, x, **k: t.squeeze(x[:, :1], **k),
    "x.squeeze": lambda t, x, **k: x[:, :1].squeeze(**k),
    "unsqueeze": lambda t, x, **k: t.unsqueeze(x, **k),
    "x.unsqueeze": lambda t, x, **k: x.unsqueeze(**k),
}


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [np.asarray(out.detach().numpy() if hasattr(out, "detach") else out)]


def _same(a, b):
    fa, fb = _flat(a), _flat(b)
    assert len(fa) == len(fb)
    for u, v in zip(fa, fb):
        assert u.shape == v.shape
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("name", sorted(OPS))
def test_axis_and_keepdims(name):
    f, x = OPS[name], _x(torchlite)
    _same(f(torchlite, x, axis=1), f(torchlite, x, dim=1))
    _same(f(torchlite, x, axis=1, keepdims=True), f(torchlite, x, dim=1, keepdim=True))
    _same(f(torchlite, x, dim=0, keepdims=True), f(torchlite, x, dim=0, keepdim=True))
    _same(f(torchlite, x, axis=-1, keepdim=True), f(torchlite, x, dim=-1, keepdim=True))


@pytest.mark.parametrize("name", sorted(AXIS_ONLY))
def test_axis_only(name):
    f, x = AXIS_ONLY[name], _x(torchlite)
    _same(f(torchlite, x, axis=1), f(torchlite, x, dim=1))
    _same(f(torchlite, x, axis=0), f(torchlite, x, dim=0))
    with pytest.raises(TypeError, match="keepdims"):
        f(torchlite, x, axis=1, keepdims=True)


def test_axis_tuples_and_positional_keepdims():
    x = _x(torchlite)
    assert x.sum(axis=(0, 1)).item() == pytest.approx(x.sum().item())
    assert torchlite.amax(x, axis=(0, 1)).item() == x.max().item()
    assert x.mean(1, keepdims=True).shape == (3, 1)
    assert x.max(axis=1).values.shape == (3,) and x.max(axis=1).indices.dtype == torchlite.int64


def test_gradients_flow_through_the_aliases():
    x = torchlite.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    (x.max(axis=1, keepdims=True).values.sum() + x.mean(axis=0).sum()).backward()
    assert x.grad.tolist() == [[0.5, 1.5], [1.5, 0.5]]


def test_bad_keywords_raise():
    x = _x(torchlite)
    with pytest.raises(TypeError, match="multiple values for argument 'dim'"):
        x.sum(1, axis=0)
    with pytest.raises(TypeError, match="multiple values for argument 'dim'"):
        torchlite.argsort(x, 0, axis=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        x.max(axis=1, foo=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'keepdims'"):
        torchlite.cumsum(x, axis=1, keepdims=True)
    for call in (lambda: torchlite.cumsum(x), lambda: torchlite.logsumexp(x),
                 lambda: torchlite.softmax(x), lambda: x.unsqueeze()):
        with pytest.raises(TypeError, match="missing 1 required positional argument: 'dim'"):
            call()


def test_functional_softmax_has_no_axis_alias_like_pytorch():
    import torchlite.nn.functional as F

    with pytest.raises(TypeError):
        F.softmax(_x(torchlite), axis=1)


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(OPS) + sorted(AXIS_ONLY))
def test_numpy_kwargs_parity(name):
    torch = pytest.importorskip("torch")
    f = OPS.get(name) or AXIS_ONLY[name]
    x, tx = _x(torchlite), _x(torch)
    for kw in (dict(axis=1), dict(axis=0, keepdims=True), dict(dim=1, keepdims=True),
               dict(axis=-1, keepdim=True), dict(axis=1, foo=2)):
        try:
            theirs = f(torch, tx, **kw)
        except TypeError:
            with pytest.raises(TypeError):
                f(torchlite, x, **kw)
            continue
        ours = f(torchlite, x, **kw)
        fo, ft = _flat(ours), _flat(theirs)
        assert len(fo) == len(ft), kw
        for a, b in zip(fo, ft):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"{name} {kw}")
