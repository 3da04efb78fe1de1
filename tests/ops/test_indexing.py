"""Indexing: basic and advanced x[key], __setitem__, masked ops, errors (the ops along one dim:
test_dim_indexing.py)."""

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, leaf, noncontig_leaf, to_np

import torchlite

I = torchlite.tensor
KEYS = {
    "int": 1,
    "neg_int": -1,
    "slice": slice(1, 3),
    "step": (slice(None), slice(None, None, 2)),
    "neg_start_step": (slice(-3, None, 2), 1),
    "none": (None, 0),
    "ellipsis": (Ellipsis, 1),
    "int_int_int": (1, 2, 3),
    "int_tensor_0d": I(2),
    "list": [0, 2, 2],
    "long_tensor": I([3, 0, 1]),
    "long_tensor_2d": I([[0, 1], [1, 0]]),
    "bool_tensor": I([True, False, True, False]),
    "bool_2d": "mask",
    "mixed_adv_slice": (I([0, 2]), slice(1, None)),
    "two_adv": (I([0, 3]), I([1, 2])),
    "adv_broadcast": (I([[0], [2]]), slice(None), I([0, 3])),
}


def _key(name, x_np):
    key = KEYS[name]
    if isinstance(key, str):
        return I(x_np[..., 0] > 0)
    return key


def _np_key(key):
    if isinstance(key, torchlite.Tensor):
        return key.numpy()
    if isinstance(key, tuple):
        return tuple(_np_key(k) for k in key)
    return key


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem_matches_numpy(name, device):
    a = data((4, 3, 5))
    key = _key(name, a)
    check_forward(lambda x: x[key], lambda x: x[_np_key(key)], a, device=device)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem_gradcheck(name):
    a = data((4, 3, 5), 1)
    key = _key(name, a)
    check_grad(lambda x: x[key] * 2.0, a)


def test_getitem_noncontiguous_and_repeated_indices():
    a = data((4, 5), 2)
    x = noncontig_leaf(a, "T")
    check_grad(lambda t: t[[0, 0, 3]][:, ::2], x)
    y = leaf([1.0, 2.0, 3.0])
    y[[0, 0, 1, 0]].sum().backward()
    np.testing.assert_array_equal(to_np(y.grad), [3.0, 1.0, 0.0])


def test_basic_indexing_gives_views_advanced_gives_copies():
    x = torchlite.zeros(3, 4)
    x[1][2] = 5.0
    assert x[1, 2].item() == 5.0
    c = x[[1]]
    c[0, 0] = 9.0
    assert x[1, 0].item() == 0.0


# --------------------------------------------------------------------------------------------
# __setitem__


def test_setitem_without_grad():
    x = torchlite.zeros(3, 4)
    x[0] = 1.0
    x[1, 1:3] = torchlite.tensor([2.0, 3.0])
    x[x > 2.5] = -1.0
    x[:, -1] = np.float64(4.0)
    x[[2, 2], [0, 1]] = torchlite.tensor(7.0)
    expected = np.zeros((3, 4), np.float32)
    expected[0] = 1
    expected[1, 1:3] = [2, 3]
    expected[expected > 2.5] = -1
    expected[:, -1] = 4
    expected[2, :2] = 7
    np.testing.assert_array_equal(to_np(x), expected)
    assert x.dtype == torchlite.float32


def test_setitem_on_leaf_under_no_grad_and_error_otherwise():
    w = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 5.0
    with torchlite.no_grad():
        w[0] = 5.0
    assert w[0].item() == 5.0 and w.requires_grad and w.is_leaf


def test_setitem_records_graph_on_nonleaf():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf([10.0])
    y = x * 2.0
    y[1] = v * 3.0
    y.sum().backward()
    np.testing.assert_array_equal(to_np(y), [2.0, 30.0, 6.0])
    np.testing.assert_array_equal(to_np(x.grad), [2.0, 0.0, 2.0])
    np.testing.assert_array_equal(to_np(v.grad), [3.0])
    check_grad(lambda a, b: _set(a * 1.0, (slice(None), 0), b), data((3, 2)), data((3,), 1))


def _set(t, key, value):
    t[key] = value
    return t


def test_setitem_plain_tensor_with_grad_value():
    v = leaf([1.0, 2.0])
    buf = torchlite.zeros(2, 2, dtype=torchlite.float64)
    buf[1] = v
    assert buf.requires_grad
    (buf * 3.0).sum().backward()
    np.testing.assert_array_equal(to_np(v.grad), [3.0, 3.0])


# --------------------------------------------------------------------------------------------
# masked ops, nonzero, take


def test_masked_fill_and_select(device):
    a = data((3, 4), 7)
    mask = I(a > 0.5)
    dmask = mask.to(device)
    check_forward(lambda x: x.masked_fill(dmask, -2.0), lambda x: np.where(a > 0.5, -2, x), a,
                  device=device)
    row_mask = np.array([True, False, False, True])
    drow = I(row_mask, device=device)
    check_forward(lambda x: torchlite.masked_fill(x, drow, 1.5),
                  lambda x: np.where(row_mask, 1.5, x), a, device=device)
    check_grad(lambda x: x.masked_fill(mask, 0.0), a)
    check_forward(lambda x: torchlite.masked_select(x, dmask), lambda x: x[a > 0.5], a,
                  device=device)
    check_grad(lambda x: x.masked_select(mask), a)
    assert I([1, 2]).masked_fill(I([True, False]), 0.7).dtype == torchlite.int64


def test_nonzero_take_where_single_arg():
    x = I([[0.0, 1.0], [2.0, 0.0]])
    np.testing.assert_array_equal(to_np(torchlite.nonzero(x)), [[0, 1], [1, 0]])
    rows, cols = x.nonzero(as_tuple=True)
    np.testing.assert_array_equal(to_np(rows), [0, 1])
    assert torchlite.nonzero(torchlite.zeros(3)).shape == (0, 1)
    np.testing.assert_array_equal(to_np(torchlite.take(x, I([0, 2]))), [0.0, 2.0])
    r, c = torchlite.where(x > 0)
    np.testing.assert_array_equal(to_np(c), [1, 0])


# --------------------------------------------------------------------------------------------
# bad input


def test_index_errors_name_the_shape():
    x = torchlite.ones(2, 3)
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        x[I([0, 7])]
    with pytest.raises(IndexError, match="long"):
        x[I([0.0])]
    with pytest.raises(IndexError, match="valid indices"):
        x["a"]
    with pytest.raises(ValueError, match="step"):
        x[::-1]


def test_masked_fill_errors():
    x = torchlite.ones(2, 3)
    with pytest.raises(RuntimeError, match="masked_fill.*bool"):
        x.masked_fill(torchlite.ones(2, 3), 0.0)
    with pytest.raises(RuntimeError, match=r"masked_fill|where"):
        x.masked_fill(torchlite.ones(2, 2) > 0, 0.0)


def test_setitem_errors():
    x = torchlite.ones(2, 3)
    with pytest.raises(ValueError, match=r"setitem.*\(2, 3\)"):
        x[0] = torchlite.ones(4)
    with pytest.raises(IndexError, match=r"setitem.*\(2, 3\)"):
        x[3] = 1.0
    y = torchlite.ones(2)
    y._device = torchlite.device("cuda:0")  # a fake GPU tensor: only the device label matters
    with pytest.raises(RuntimeError, match="setitem.*cuda:0.*cpu"):
        x[0, :2] = y


# --------------------------------------------------------------------------------------------
# PyTorch parity


@pytest.mark.parity
def test_parity_gather_scatter_add_index():
    torch = pytest.importorskip("torch")
    a = data((3, 4), 11).astype(np.float32)
    s = data((2, 4), 12).astype(np.float32)
    res = []
    for m in (torchlite, torch):
        x = m.tensor(a, requires_grad=True)
        src = m.tensor(s, requires_grad=True)
        idx = m.tensor([[0, 1, 2, 0], [0, 0, 2, 1]])
        y = m.cat([
            x.gather(0, idx).flatten(),
            m.scatter_add(x, 0, idx, src).flatten(),
            x[m.tensor([2, 0, 2])][:, 1::2].flatten(),
            x[x > 0].flatten(),
            x.index_select(1, m.tensor([3, 3])).flatten(),
            x.index_add(1, m.tensor([1, 3, 1]), m.cat([src, src[:1]])[:, :3], alpha=-2).flatten(),
            x.masked_fill(x < 0, 0.5).flatten(),
        ])
        w = m.arange(y.numel(), dtype=m.float32)
        (y * w).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy(), src.grad.numpy()))
    for mine, theirs in zip(*res):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def _labelled_cuda(t):
    """`t`'s (NumPy) data under a cuda device label: enough to reach the device checks, which
    run before any array work, on a machine without a GPU."""
    return torchlite.Tensor._make(t._data, torchlite.device("cuda"))


def test_index_on_another_device_is_refused_up_front():
    # the index goes to the op as a raw array, so the op checks its device itself
    x = torchlite.ones(3, 4)
    idx = _labelled_cuda(I([0, 2]))
    with pytest.raises(RuntimeError, match=r"index_select.*same device.*cpu.*cuda"):
        x.index_select(0, idx)
    with pytest.raises(RuntimeError, match=r"gather.*same device"):
        x.gather(1, _labelled_cuda(I([[0], [1], [2]])))
    with pytest.raises(RuntimeError, match=r"scatter_add.*same device"):
        x.scatter_add(0, _labelled_cuda(I([[0, 1, 2, 0]])), torchlite.ones(1, 4))
    with pytest.raises(RuntimeError, match=r"index_add.*same device"):
        x.index_add(0, idx, torchlite.ones(2, 4))
    with pytest.raises(IndexError, match=r"indices should be either on cpu"):
        x[idx]

