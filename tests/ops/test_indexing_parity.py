"""Indexing against PyTorch over generated index expressions: where the advanced-index
dimensions land when integers, slices, None and index tensors mix (reads, writes, index_put and
gradients), nested tuples and lists inside a key, and PyTorch's list-as-tuple rule."""

import random
import warnings

import numpy as np
import pytest

import torchlite

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch", reason="parity tests need torch (the dev extra)")

SHAPE = (2, 3, 4, 5)


def _pieces():
    """(torch index, torchlite index) pairs; values stay below 2 so any dimension takes them."""
    def both(make):
        return make(torch), make(torchlite)
    return [
        (0, 0), (1, 1), (-1, -1),
        (slice(None), slice(None)), (slice(0, 2), slice(0, 2)), (slice(1, None, 2),) * 2,
        (None, None), (Ellipsis, Ellipsis),
        both(lambda m: m.tensor([0, 1])), both(lambda m: m.tensor([[1, 0], [0, 0]])),
        both(lambda m: m.tensor([True, False])), both(lambda m: m.tensor(1)),
        ([1, 0], [1, 0]), ((1, 1), (1, 1)), ((0,), (0,)),
    ]


def _keys(n=300, seed=0):
    rng = random.Random(seed)
    pieces = _pieces()
    out = []
    while len(out) < n:
        parts = [rng.choice(pieces) for _ in range(rng.randint(1, 4))]
        if sum(p[0] is Ellipsis for p in parts) > 1:
            continue
        out.append((tuple(p[0] for p in parts), tuple(p[1] for p in parts)))
    return out


def _torch_or_error(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except (IndexError, RuntimeError, ValueError, TypeError) as exc:
        return None, exc


KEYS = _keys()


def _data():
    return np.arange(np.prod(SHAPE), dtype=np.float64).reshape(SHAPE)


@pytest.mark.parametrize("i", range(len(KEYS)))
def test_getitem_and_grad_match_torch(i):
    tkey, lkey = KEYS[i]
    a = _data()
    xt = torch.tensor(a, requires_grad=True)
    want, err = _torch_or_error(lambda: xt[tkey])
    xl = torchlite.tensor(a, requires_grad=True)
    if err is not None:
        with pytest.raises((IndexError, RuntimeError, ValueError, TypeError)):
            xl[lkey]
        return
    got = xl[lkey]
    assert tuple(got.shape) == tuple(want.shape), (tkey, got.shape, want.shape)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    w = np.random.default_rng(i).standard_normal(tuple(want.shape))
    (want * torch.tensor(w)).sum().backward()
    (got * torchlite.tensor(w)).sum().backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("i", range(0, len(KEYS), 3))
@pytest.mark.parametrize("grad", [False, True])
def test_setitem_matches_torch(i, grad):
    tkey, lkey = KEYS[i]
    a = _data()
    shape, err = _torch_or_error(lambda: torch.tensor(a)[tkey].shape)
    if err is not None:
        return
    v = np.random.default_rng(i).standard_normal(tuple(shape))
    xt = torch.tensor(a, requires_grad=grad).clone()
    vt = torch.tensor(v, requires_grad=grad)
    xl = torchlite.tensor(a, requires_grad=grad).clone()
    vl = torchlite.tensor(v, requires_grad=grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xt[tkey] = vt
    xl[lkey] = vl
    np.testing.assert_array_equal(xl.detach().numpy(), xt.detach().numpy())
    if grad:
        w = np.random.default_rng(i + 1).standard_normal(SHAPE)
        (xt * torch.tensor(w)).sum().backward()
        (xl * torchlite.tensor(w)).sum().backward()
        np.testing.assert_allclose(vl.grad.numpy(), vt.grad.numpy())


def test_the_issue_example():
    x = torchlite.zeros(2, 3, 4, 5)
    idx = torchlite.tensor([0, 2])
    assert tuple(x[1, :, idx, 0:2].shape) == (3, 2, 2)
    x[1, :, idx, 0:2] = torchlite.ones(3, 2, 2)
    assert float(x.sum()) == 12.0


def test_index_put_with_an_integer_index_matches_torch():
    a = _data()
    idx = ([1], [0, 2])
    v = np.ones((2, 4, 5))
    want = torch.tensor(a).index_put(tuple(torch.tensor(i) for i in idx), torch.tensor(v),
                                     accumulate=True)
    got = torchlite.tensor(a).index_put(tuple(torchlite.tensor(i) for i in idx),
                                        torchlite.tensor(v), accumulate=True)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_nested_sequences_and_list_as_tuple():
    a = _data()
    xt, xl = torch.tensor(a), torchlite.tensor(a)
    for key in [((0,),), ([0, 1], (1, 1)), [0, 1], [[0, 1], [1, 2]], [0, slice(None)], [],
                [True, False]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = xt[key]
            got = xl[key]
        assert tuple(got.shape) == tuple(want.shape), key
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        xl[[[0, 1], [1, 2]]]
