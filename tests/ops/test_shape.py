"""Shape ops: forward vs NumPy (float32), float64 gradchecks, views, padding, errors."""

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, leaf, noncontig_leaf, to_np

import torchlite
from torchlite.ops.pad import pad

# name -> (torchlite function of one (2, 3, 4) tensor, NumPy reference)
SINGLE = {
    "reshape": (lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1)),
    "reshape_tuple": (lambda x: torchlite.reshape(x, (6, 4)), lambda x: x.reshape(6, 4)),
    "view": (lambda x: x.view(-1), lambda x: x.reshape(-1)),
    "flatten": (lambda x: x.flatten(), lambda x: x.reshape(-1)),
    "flatten_1": (lambda x: torchlite.flatten(x, 1), lambda x: x.reshape(2, 12)),
    "flatten_0_1": (lambda x: x.flatten(0, 1), lambda x: x.reshape(6, 4)),
    "unflatten": (lambda x: x.unflatten(2, (2, -1)), lambda x: x.reshape(2, 3, 2, 2)),
    "unsqueeze": (lambda x: x.unsqueeze(1), lambda x: x[:, None]),
    "unsqueeze_neg": (lambda x: torchlite.unsqueeze(x, -1), lambda x: x[..., None]),
    "squeeze": (lambda x: x[:, :1].squeeze(), lambda x: x[:, 0]),
    "squeeze_dim": (lambda x: x[:1].squeeze(0), lambda x: x[0]),
    "squeeze_noop": (lambda x: x.squeeze(1), lambda x: x),
    "transpose": (lambda x: x.transpose(0, 2), lambda x: x.swapaxes(0, 2)),
    "permute": (lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1)),
    "permute_tuple": (lambda x: torchlite.permute(x, (1, 2, 0)), lambda x: x.transpose(1, 2, 0)),
    "T": (lambda x: x.T, lambda x: x.transpose()),
    "mT": (lambda x: x.mT, lambda x: x.swapaxes(-1, -2)),
    "movedim": (lambda x: torchlite.movedim(x, 0, -1), lambda x: np.moveaxis(x, 0, -1)),
    "expand": (lambda x: x[:, :1].expand(2, 3, 4), lambda x: np.broadcast_to(x[:, :1], (2, 3, 4))),
    "expand_new_dims": (lambda x: x.expand(2, 2, 3, 4), lambda x: np.broadcast_to(x, (2, 2, 3, 4))),
    "expand_minus1": (lambda x: x[..., :1].expand(-1, -1, 3),
                      lambda x: np.broadcast_to(x[..., :1], (2, 3, 3))),
    "broadcast_to": (lambda x: x[0].broadcast_to((2, 3, 4)),
                     lambda x: np.broadcast_to(x[0], (2, 3, 4))),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3))),
    "repeat_more_dims": (lambda x: x.repeat(2, 1, 1, 2), lambda x: np.tile(x, (2, 1, 1, 2))),
    "tile": (lambda x: x.tile((2,)), lambda x: np.tile(x, 2)),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=1),
                          lambda x: np.repeat(x, 2, axis=1)),
    "repeat_interleave_flat": (lambda x: torchlite.repeat_interleave(x, 3),
                               lambda x: np.repeat(x, 3)),
    "flip": (lambda x: x.flip(0, 2), lambda x: x[::-1, :, ::-1]),
    "flip_tuple": (lambda x: torchlite.flip(x, (0, 2)), lambda x: x[::-1, :, ::-1]),
    "flip_kw": (lambda x: torchlite.flip(x, dims=[1]), lambda x: x[:, ::-1]),
    "flip_int": (lambda x: x.flip(1), lambda x: x[:, ::-1]),
    "fliplr": (lambda x: torchlite.fliplr(x), lambda x: x[:, ::-1]),
    "roll": (lambda x: x.roll(1, 2), lambda x: np.roll(x, 1, 2)),
    "roll_multi": (lambda x: torchlite.roll(x, (1, -2), (0, 2)),
                   lambda x: np.roll(x, (1, -2), (0, 2))),
    "roll_flat": (lambda x: torchlite.roll(x, 5), lambda x: np.roll(x, 5)),
    "narrow": (lambda x: x.narrow(2, 1, 2), lambda x: x[:, :, 1:3]),
    "narrow_neg": (lambda x: torchlite.narrow(x, 1, -2, 2), lambda x: x[:, 1:3]),
    "select": (lambda x: x.select(1, -1), lambda x: x[:, -1]),
    "contiguous": (lambda x: x.transpose(0, 1).contiguous(), lambda x: x.swapaxes(0, 1)),
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_forward_matches_numpy(name, device):
    fn, ref = SINGLE[name]
    check_forward(fn, ref, data((2, 3, 4)), device=device)


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_gradcheck(name):
    fn, _ = SINGLE[name]
    check_grad(lambda x: fn(x) * 1.5, data((2, 3, 4), 1))


@pytest.mark.parametrize("name", ["reshape", "flatten", "transpose", "expand", "repeat",
                                  "flip", "roll", "narrow", "permute", "unsqueeze"])
def test_gradcheck_noncontiguous(name):
    fn, ref = SINGLE[name]
    a = data((2, 3, 4), 2)
    x = noncontig_leaf(a, "step")
    check_grad(lambda t: fn(t) * 1.0, x)
    np.testing.assert_array_equal(to_np(fn(x)), ref(a))


# --------------------------------------------------------------------------------------------
# joining and splitting


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim, device):
    a, b, c = data((2, 3), 1), data((2, 3), 2), data((2, 3), 3)
    check_forward(lambda *ts: torchlite.cat(ts, dim), lambda *xs: np.concatenate(xs, dim),
                  a, b, c, device=device)
    check_forward(lambda *ts: torchlite.stack(ts, dim), lambda *xs: np.stack(xs, dim),
                  a, b, c, device=device)
    check_grad(lambda *ts: torchlite.cat(ts, dim), a, b, c)
    check_grad(lambda *ts: torchlite.stack(list(ts), dim), a, b, c)


def test_cat_uneven_and_repeated_and_mixed_dtype():
    a, b = data((2, 3), 1), data((4, 3), 2)
    check_grad(lambda x, y: torchlite.cat([x, y, x]), a, b)
    m = torchlite.cat([torchlite.ones(2, dtype=torchlite.int64), torchlite.ones(1)])
    assert m.dtype == torchlite.float32
    x = leaf([1.0, 2.0], dtype=torchlite.float32)
    torchlite.cat([x, torchlite.tensor([5, 6])]).sum().backward()
    assert x.grad.dtype == torchlite.float32
    e = torchlite.cat([torchlite.ones(2, 2), torchlite.tensor([])])  # legacy empty 1-D skipped
    assert e.shape == (2, 2)


def test_hstack_vstack():
    a, b = torchlite.tensor([1.0, 2.0]), torchlite.tensor([3.0])
    np.testing.assert_array_equal(to_np(torchlite.hstack([a, b])), [1, 2, 3])
    np.testing.assert_array_equal(to_np(torchlite.vstack([a, a * 2])), [[1, 2], [2, 4]])


def test_split_chunk_unbind_tensor_split():
    a = data((5, 4), 3)
    x = torchlite.tensor(a)
    parts = x.split(2)
    assert [p.shape[0] for p in parts] == [2, 2, 1]
    np.testing.assert_array_equal(to_np(parts[2]), a[4:])
    parts = torchlite.split(x, [1, 3], dim=1)
    assert [tuple(p.shape) for p in parts] == [(5, 1), (5, 3)]
    assert [p.shape[0] for p in x.chunk(3)] == [2, 2, 1]
    assert [p.shape[1] for p in torchlite.chunk(x, 4, 1)] == [1, 1, 1, 1]
    assert [p.shape[0] for p in x.tensor_split(3)] == [2, 2, 1]
    rows = x.unbind(0)
    assert len(rows) == 5 and rows[1].shape == (4,)
    np.testing.assert_array_equal(to_np(rows[1]), a[1])
    check_grad(lambda t: torchlite.cat([p * (i + 1) for i, p in enumerate(t.split(2))]), a)
    check_grad(lambda t: torchlite.stack(t.unbind(1), 0) * 2.0, a)
    check_grad(lambda t: t.chunk(2, 1)[1] * 3.0, a)


# --------------------------------------------------------------------------------------------
# views


def test_views_share_memory_and_version():
    x = torchlite.zeros(2, 3)
    v = x.view(6)
    v[0] = 5.0
    assert x[0, 0].item() == 5.0
    t = x.t()
    t[2, 1] = 7.0
    assert x[1, 2].item() == 7.0
    row = x[1]
    row.add_(1.0)
    np.testing.assert_array_equal(to_np(x[1]), [1.0, 1.0, 8.0])
    assert x._version == v._version == t._version == row._version > 0


def test_copying_ops_own_their_memory():
    x = torchlite.tensor(data((2, 3)))
    before = x.tolist()
    for out in (x.flip(0), x.roll(1, 1), x.repeat(1, 1), x.tile((1,)), x.repeat_interleave(1, 0),
                torchlite.cat([x]), x.clone(),
                pad(x, (0, 0)), torchlite.einsum("ij->ji", x)):
        out.zero_()
        assert x.tolist() == before


def test_reshape_of_noncontiguous_copies():
    x = torchlite.tensor(data((3, 4)))
    r = x.t().reshape(12)
    r[0] = 100.0
    assert x[0, 0].item() != 100.0


def test_view_of_incompatible_layout_raises_and_reshape_copies():
    a = data((3, 4))
    x = torchlite.tensor(a)
    for bad in (lambda: x.t().view(-1), lambda: x.t().view(2, 6), lambda: x[:, 1:3].view(6),
                lambda: x.t().view_as(x.reshape(12)), lambda: x.permute(1, 0).view(12)):
        with pytest.raises(RuntimeError, match=r"view size is not compatible with input "
                           r"tensor's size and stride .*Use \.reshape\(\.\.\.\) instead\."):
            bad()
    np.testing.assert_array_equal(to_np(x.t().reshape(-1)), a.T.reshape(-1))
    assert x.t().flatten().tolist() == a.T.reshape(-1).tolist()  # flatten copies, as reshape


def test_view_of_noncontiguous_works_where_the_strides_allow():
    # splitting a dim, adding or dropping size-1 dims and merging dims that are still
    # contiguous with each other all keep a view, as in PyTorch
    a = data((2, 3, 4), 3)
    x = noncontig_leaf(a, "step")
    check_grad(lambda t: t.view(2, 3, 2, 2) * 1.0, x)
    np.testing.assert_array_equal(to_np(x.view(2, 3, 2, 2)), a.reshape(2, 3, 2, 2))
    y = torchlite.zeros(4, 6)
    cols = y[:, 1:4]  # rows are strided, each row's 3 elements are contiguous
    v = cols.view(4, 3, 1).view(2, 2, 3)
    v[1, 0, 2] = 9.0
    assert y[2, 3].item() == 9.0  # the view writes through
    t = torchlite.zeros(3, 4).t()  # (4, 3), strides (1, 4)
    w = t.view(2, 2, 3)
    w[1, 1, 0] = 5.0
    assert t[3, 0].item() == 5.0
    e = torchlite.zeros(0, 3).t()
    assert tuple(e.view(-1).shape) == (0,)


VIEW_CASES = [("t", (-1,)), ("t", (2, 6)), ("t", (4, 3, 1)), ("t", (2, 2, 3)),
              ("step", (6,)), ("mid", (6,)), ("mid", (3, 2, 1)), ("mid", (1, 3, 2))]


@pytest.mark.parity
@pytest.mark.parametrize("kind, shape", VIEW_CASES, ids=str)
def test_view_parity_raises_where_pytorch_does(kind, shape):
    torch = pytest.importorskip("torch")

    def attempt(x):
        src = {"t": lambda: x.t(), "step": lambda: x[:, ::2], "mid": lambda: x[:, 1:3]}[kind]()
        try:
            return src.view(*shape).tolist()
        except RuntimeError as e:
            assert "view size is not compatible" in str(e)
            return "raised"

    a = data((3, 4), 8).astype(np.float32)
    assert attempt(torchlite.tensor(a)) == attempt(torch.tensor(a))


def test_inplace_through_view_reaches_base_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1.0
    y[1:].mul_(torchlite.tensor([2.0, 3.0], dtype=torchlite.float64))
    y.view(3, 1)[0].add_(x[0])
    (y * torchlite.tensor([1.0, 10.0, 100.0], dtype=torchlite.float64)).sum().backward()
    np.testing.assert_array_equal(to_np(y), [2.0, 4.0, 9.0])
    np.testing.assert_array_equal(to_np(x.grad), [2.0, 20.0, 300.0])


# --------------------------------------------------------------------------------------------
# pad


def _np_pad(x, p, mode, value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(p) // 2):
        widths[x.ndim - 1 - i] = (p[2 * i], p[2 * i + 1])
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}[mode]
    kw = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=np_mode, **kw)


PADS = [((1, 2), "constant"), ((1, 0, 2, 1), "constant"), ((2, 2), "reflect"),
        ((1, 2, 2, 0), "reflect"), ((3, 1), "replicate"), ((1, 1, 1, 1), "replicate"),
        ((2, 3), "circular"), ((1, 2, 0, 1), "circular")]


@pytest.mark.parametrize("p, mode", PADS, ids=str)
def test_pad(p, mode, device):
    a = data((2, 3, 4), 5)
    check_forward(lambda x: pad(x, p, mode), lambda x: _np_pad(x, p, mode), a, device=device)
    check_grad(lambda x: pad(x, p, mode), a)


def test_pad_constant_value_and_negative():
    a = data((3, 4), 6)
    x = torchlite.tensor(a)
    np.testing.assert_allclose(to_np(pad(x, (1, 1), value=2.5)), _np_pad(a, (1, 1), "constant",
                                                                           2.5))
    np.testing.assert_allclose(to_np(pad(x, (-1, 2, 0, -1))), np.pad(a[:2, 1:], ((0, 0), (0, 2))))
    check_grad(lambda t: pad(t, (-1, 2, 1, -1)), a)


# --------------------------------------------------------------------------------------------
# bad input


def test_reshape_errors_name_op_and_shapes():
    x = torchlite.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"reshape.*\[4, 4\].*size 6"):
        x.reshape(4, 4)
    with pytest.raises(RuntimeError, match="reshape.*only one dimension"):
        x.reshape(-1, -1)
    with pytest.raises(RuntimeError, match="reshape.*-2"):
        x.reshape(-2, 3)
    with pytest.raises(RuntimeError, match=r"reshape.*\[4, -1\].*size 6"):
        x.view(4, -1)
    with pytest.raises(TypeError, match="reshape"):
        x.reshape(2.0, 3)


def test_shape_op_bad_dims():
    x = torchlite.ones(2, 3)
    for fn in (lambda: x.transpose(0, 2), lambda: x.unsqueeze(3), lambda: x.squeeze(2),
               lambda: x.flatten(0, 5), lambda: torchlite.cat([x, x], 2), lambda: x.flip(2),
               lambda: x.select(2, 0), lambda: x.narrow(-3, 0, 1), lambda: x.split(1, 4)):
        with pytest.raises(IndexError, match="Dimension out of range"):
            fn()


def test_join_errors():
    with pytest.raises(RuntimeError, match=r"cat.*\(2, 3\).*\(2, 4\)"):
        torchlite.cat([torchlite.ones(2, 3), torchlite.ones(2, 4)])
    with pytest.raises(RuntimeError, match=r"stack.*\[2, 3\].*\[3, 2\]"):
        torchlite.stack([torchlite.ones(2, 3), torchlite.ones(3, 2)])
    with pytest.raises(RuntimeError, match="cat"):
        torchlite.cat([])
    with pytest.raises(RuntimeError, match="zero-dimensional"):
        torchlite.cat([torchlite.tensor(1.0), torchlite.tensor(2.0)])


def test_expand_permute_split_pad_errors():
    x = torchlite.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"expand.*\(3\).*\(2\)"):
        x.expand(3, 3)
    with pytest.raises(RuntimeError, match="expand"):
        x.expand(3)
    with pytest.raises(RuntimeError, match="permute"):
        x.permute(0)
    with pytest.raises(RuntimeError, match="permute"):
        x.permute(0, 0)
    with pytest.raises(RuntimeError, match="split"):
        x.split([1, 1], 1)
    with pytest.raises(RuntimeError, match="repeat"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="pad"):
        pad(x, (1,))
    with pytest.raises(RuntimeError, match="pad.*reflect"):
        pad(x, (3, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="pad"):
        pad(x, (1, 1), mode="mirror")
    with pytest.raises(IndexError, match="narrow"):
        x.narrow(1, 2, 2)
    with pytest.raises(IndexError, match="select"):
        x.select(0, 5)
    with pytest.raises(RuntimeError, match="chunk"):
        x.chunk(0)


# --------------------------------------------------------------------------------------------
# PyTorch parity


@pytest.mark.parity
@pytest.mark.parametrize("p, mode", PADS + [((-1, 2, 1, -1), "constant")], ids=str)
def test_parity_pad(p, mode):
    torch = pytest.importorskip("torch")
    a = data((2, 3, 4), 9).astype(np.float32)
    res = []
    for m, f in ((torchlite, pad), (torch, torch.nn.functional.pad)):
        x = m.tensor(a, requires_grad=True)
        y = f(x, p, mode=mode)
        w = m.arange(y.numel(), dtype=m.float32).reshape(y.shape)
        (y * w).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-6)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-6)


@pytest.mark.parity
def test_parity_repeat_roll_flip():
    torch = pytest.importorskip("torch")
    a = data((2, 3), 10).astype(np.float32)
    res = []
    for m in (torchlite, torch):
        x = m.tensor(a, requires_grad=True)
        y = m.cat([x.repeat(2, 2).flatten(), x.roll(1, 1).flatten(), x.flip(0).flatten(),
                   x.repeat_interleave(2, dim=0).flatten()])
        w = m.arange(y.numel(), dtype=m.float32)
        (y * w).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])


def test_tile_takes_an_int_or_a_tuple():
    assert torchlite.ones(3).tile(2).tolist() == [1.0] * 6
    assert tuple(torchlite.tile(torchlite.ones(2, 1), (1, 3)).shape) == (2, 3)
    assert tuple(torchlite.ones(2).tile(2, 2).shape) == (2, 4)
