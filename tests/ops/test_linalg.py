"""Matrix products and einsum: forward vs NumPy (float32), float64 gradchecks, errors."""

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, noncontig_leaf, to_np

import torchlite

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
    ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((2, 3, 4), (4,)), ((2, 2, 3), (2, 3, 2)),
    ((1, 2), (2, 1)),
]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_matmul_forward(sa, sb, device):
    check_forward(lambda a, b: a @ b, np.matmul, data(sa, 0), data(sb, 1), device=device)
    check_forward(torchlite.matmul, np.matmul, data(sa, 2), data(sb, 3), device=device)


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_matmul_gradcheck(sa, sb):
    check_grad(torchlite.matmul, data(sa, 0), data(sb, 1))


@pytest.mark.parametrize("kind", ["T", "step"])
def test_matmul_noncontiguous(kind):
    a, b = data((3, 4), 4), data((4, 2), 5)
    ta, tb = noncontig_leaf(a, kind), noncontig_leaf(b, kind)
    np.testing.assert_allclose(to_np(ta @ tb), a @ b, rtol=1e-12)
    check_grad(torchlite.matmul, ta, tb)
    check_grad(lambda x, y: x.t() @ y[:, ::2].t().t(), data((4, 3), 6), data((4, 6), 7))


def test_matmul_repeated_input():
    check_grad(lambda x: x @ x, data((3, 3), 8))
    check_grad(lambda x: x @ x.t(), data((2, 3), 9))


def test_mm_bmm_mv_dot_outer_addmm(device):
    a, b, v, w = data((2, 3), 1), data((3, 4), 2), data((3,), 3), data((4,), 4)
    batch1, batch2 = data((5, 2, 3), 5), data((5, 3, 2), 6)
    check_forward(torchlite.mm, np.matmul, a, b, device=device)
    check_forward(lambda x, y: x.mm(y), np.matmul, a, b, device=device)
    check_forward(torchlite.bmm, np.matmul, batch1, batch2, device=device)
    check_forward(torchlite.mv, np.matmul, a, v, device=device)
    check_forward(torchlite.dot, np.dot, v, v * 2, device=device)
    check_forward(torchlite.outer, np.outer, v, w, device=device)
    check_forward(lambda c, x, y: torchlite.addmm(c, x, y, beta=0.5, alpha=2.0),
                  lambda c, x, y: 0.5 * c + 2.0 * (x @ y), data((2, 4), 7), a, b, device=device)
    check_grad(torchlite.mm, a, b)
    check_grad(torchlite.bmm, batch1, batch2)
    check_grad(torchlite.mv, a, v)
    check_grad(torchlite.dot, v, v * 2)
    check_grad(torchlite.outer, v, w)
    check_grad(lambda c, x, y: torchlite.addmm(c, x, y, beta=0.5, alpha=2.0), data((1, 4), 8),
               a, b)


def test_t_and_transposes():
    a = torchlite.tensor(data((2, 3)))
    assert a.t().shape == (3, 2) and a.T.shape == (3, 2)
    v = torchlite.ones(3)
    assert v.t() is v
    b = torchlite.ones(2, 3, 4)
    assert b.mT.shape == (2, 4, 3) and b.T.shape == (4, 3, 2)
    with pytest.raises(RuntimeError, match="t()"):
        b.t()


def test_matmul_float32_out_and_int_matmul():
    a = torchlite.ones(2, 3)
    assert (a @ torchlite.ones(3)).dtype == torchlite.float32
    i = torchlite.tensor([[1, 2], [3, 4]])
    r = i @ i
    assert r.dtype == torchlite.int64
    np.testing.assert_array_equal(to_np(r), [[7, 10], [15, 22]])


def test_rmatmul_with_numpy_operand():
    a = torchlite.tensor(data((3, 2)), dtype=torchlite.float32)
    m = np.ones((2, 3), dtype=np.float32)
    r = m @ a
    assert isinstance(r, torchlite.Tensor)
    np.testing.assert_allclose(to_np(r), m @ to_np(a), rtol=1e-6)


EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("bi,bi->b", [(3, 4), (3, 4)]),
    ("ijk->j", [(2, 3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ij", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("i,i", [(4,), (4,)]),
]


@pytest.mark.parametrize("eq, shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes, device):
    arrays = [data(s, k) for k, s in enumerate(shapes)]
    check_forward(lambda *ts: torchlite.einsum(eq, *ts), lambda *xs: np.einsum(eq, *xs),
                  *arrays, device=device)
    check_grad(lambda *ts: torchlite.einsum(eq, *ts), *arrays)
    check_grad(lambda *ts: torchlite.einsum(eq, list(ts)), *arrays)


def test_einsum_repeated_operand():
    check_grad(lambda x: torchlite.einsum("ij,jk->ik", x, x), data((3, 3), 1))


# --------------------------------------------------------------------------------------------
# bad input


def test_matmul_shape_mismatch_names_op_and_shapes():
    with pytest.raises(RuntimeError) as exc:
        torchlite.ones(2, 3) @ torchlite.ones(4, 5)
    msg = str(exc.value)
    assert "matmul" in msg and "2x3" in msg and "4x5" in msg
    with pytest.raises(RuntimeError, match=r"mm.*2x3.*4x5"):
        torchlite.mm(torchlite.ones(2, 3), torchlite.ones(4, 5))


def test_matmul_dtype_mismatch():
    with pytest.raises(RuntimeError, match=r"matmul.*float32.*float64"):
        torchlite.ones(2, 2) @ torchlite.ones(2, 2, dtype=torchlite.float64)


def test_matmul_batch_mismatch_and_0d():
    with pytest.raises(RuntimeError, match=r"matmul.*\(2,\).*\(3,\)"):
        torchlite.ones(2, 2, 3) @ torchlite.ones(3, 3, 2)
    with pytest.raises(RuntimeError, match="matmul"):
        torchlite.tensor(1.0) @ torchlite.ones(2)


def test_mm_bmm_dims():
    with pytest.raises(RuntimeError, match="mm.*2-D"):
        torchlite.mm(torchlite.ones(2, 2, 2), torchlite.ones(2, 2))
    with pytest.raises(RuntimeError, match=r"bmm.*\(2, 2, 3\).*\(3, 3, 2\)"):
        torchlite.bmm(torchlite.ones(2, 2, 3), torchlite.ones(3, 3, 2))
    with pytest.raises(RuntimeError, match="dot"):
        torchlite.dot(torchlite.ones(2, 2), torchlite.ones(2))


def test_matmul_device_mix():
    b = torchlite.ones(2, 2)
    b._device = torchlite.device("cuda:0")  # a fake GPU tensor: only the device label matters
    with pytest.raises(RuntimeError, match=r"Matmul.*cpu.*cuda:0"):
        torchlite.ones(2, 2) @ b


def test_matmul_needs_tensors():
    with pytest.raises(TypeError, match="matmul"):
        torchlite.matmul(torchlite.ones(2), [1.0, 2.0])


def test_einsum_bad_subscripts():
    with pytest.raises(ValueError, match="einsum"):
        torchlite.einsum("ij,jk->ik", torchlite.ones(2, 3))
    with pytest.raises(ValueError, match="einsum"):
        torchlite.einsum("ijk->i", torchlite.ones(2, 3))


# --------------------------------------------------------------------------------------------
# PyTorch parity


@pytest.mark.parity
@pytest.mark.parametrize("eq, shapes", EINSUM[:9], ids=[e for e, _ in EINSUM[:9]])
def test_parity_einsum(eq, shapes):
    torch = pytest.importorskip("torch")
    arrays = [data(s, k).astype(np.float32) for k, s in enumerate(shapes)]
    res = []
    for m in (torchlite, torch):
        ts = [m.tensor(a, requires_grad=True) for a in arrays]
        y = m.einsum(eq, *ts)
        (y * y).sum().backward()
        res.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for mine, theirs in zip(*res):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_parity_matmul(sa, sb):
    torch = pytest.importorskip("torch")
    a, b = data(sa, 0).astype(np.float32), data(sb, 1).astype(np.float32)
    res = []
    for m in (torchlite, torch):
        ta, tb = m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)
        y = ta @ tb
        (y * y).sum().backward()
        res.append((y.detach().numpy(), ta.grad.numpy(), tb.grad.numpy()))
    for mine, theirs in zip(*res):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)
