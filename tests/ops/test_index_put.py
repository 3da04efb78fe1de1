"""index_put / index_put_ (set or accumulate at index tensors) and indexing with a range."""

import numpy as np
import pytest

import torchlite
from torchlite.autograd import gradcheck

I = torchlite.tensor


def test_range_indexes_as_a_list():
    x = torchlite.arange(12.0).reshape(3, 4)
    assert x[range(2)].tolist() == x[[0, 1]].tolist()
    assert x[range(0, 3, 2), 1].tolist() == [1.0, 9.0]
    assert x[:, range(3, 0, -2)].tolist() == x[:, [3, 1]].tolist()
    assert tuple(x[range(0)].shape) == (0, 4)
    x.requires_grad_(True)
    x[range(1, 3)].sum().backward()
    assert x.grad.tolist() == [[0.0] * 4, [1.0] * 4, [1.0] * 4]
    y = torchlite.zeros(4)
    y[range(2)] = 1.0
    assert y.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_index_put_sets_and_accumulates():
    x = torchlite.zeros(3, 2)
    idx = (I([0, 2, 0]), I([1, 0, 1]))
    out = x.index_put(idx, I([1.0, 2.0, 3.0]), accumulate=True)
    assert out.tolist() == [[0.0, 4.0], [0.0, 0.0], [2.0, 0.0]] and x.abs().sum().item() == 0
    out = torchlite.index_put(x, (I([1]),), I(7.0))  # a scalar broadcasts over the selection
    assert out.tolist() == [[0.0, 0.0], [7.0, 7.0], [0.0, 0.0]]
    mask = I([[True, False], [False, True], [False, False]])
    assert x.index_put((mask,), I([5.0, 6.0])).tolist() == [[5.0, 0.0], [0.0, 6.0], [0.0, 0.0]]


def test_index_put_in_place_returns_self():
    x = torchlite.ones(4, dtype=torchlite.int64)
    r = x.index_put_((I([3, 3]),), I([2, 5]), accumulate=True)
    assert r is x and x.tolist() == [1, 1, 1, 8]
    x.index_put_((I([0]),), I([9]))
    assert x.tolist() == [9, 1, 1, 8]
    y = torchlite.zeros(3)
    v = torchlite.tensor([2.0], requires_grad=True)
    y.index_put_(indices=(I([1]),), values=v)  # keywords: the graph still reaches values
    (y * 3).sum().backward()
    assert y.tolist() == [0.0, 2.0, 0.0] and v.grad.tolist() == [3.0]


def test_index_put_errors():
    x = torchlite.zeros(3)
    with pytest.raises(RuntimeError, match="dtypes match"):
        x.index_put_((I([0]),), I([1]))
    with pytest.raises(TypeError, match="tuple"):
        x.index_put_(I([0]), I([1.0]))
    with pytest.raises(TypeError, match="Tensor"):
        x.index_put_((I([0]),), 1.0)
    with pytest.raises(IndexError):
        x.index_put_((I([5]),), I([1.0]))
    leaf = torchlite.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.index_put_((I([0]),), I([1.0]))


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_gradients(accumulate):
    idx = (I([2, 0, 2]),) if accumulate else (I([2, 0]),)
    x = torchlite.tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    v = torchlite.tensor(np.random.default_rng(1).standard_normal((len(idx[0]), 2)),
                         requires_grad=True)
    assert gradcheck(lambda a, b: a.index_put(idx, b, accumulate=accumulate), (x, v))
    s = torchlite.tensor(0.5, dtype=torchlite.float64, requires_grad=True)  # broadcast value
    assert gradcheck(lambda a, b: a.index_put(idx, b, accumulate=accumulate), (x, s))
    # in place on a non-leaf: the graph goes through the written values
    y = x * 1
    y.index_put_(idx, v, accumulate=accumulate)
    y.sum().backward()
    want = np.ones((3, 2)) if accumulate else np.array([[0.0] * 2, [1.0] * 2, [0.0] * 2])
    np.testing.assert_array_equal(x.grad.numpy(), want)
    np.testing.assert_array_equal(v.grad.numpy(), np.ones(v.shape))


@pytest.mark.parity
@pytest.mark.parametrize("accumulate", [False, True])
def test_parity_with_pytorch(accumulate):
    torch = pytest.importorskip("torch")
    base = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    vals = np.random.default_rng(3).standard_normal((3, 3)).astype(np.float32)
    rows = [3, 1, 3] if accumulate else [3, 1, 0]
    results = []
    for lib in (torchlite, torch):
        x = lib.tensor(base, requires_grad=True)
        v = lib.tensor(vals, requires_grad=True)
        y = (x * 2).index_put((lib.tensor(rows),), v, accumulate=accumulate)
        (y * lib.arange(12.0).reshape(4, 3)).sum().backward()
        results.append([t.detach().numpy() for t in (y, x.grad, v.grad)]
                       + [lib.arange(5.0)[range(1, 4)].numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
