"""cummax, cummin and logcumsumexp: values and indices as PyTorch, float64 gradchecks."""

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite
from torchlite.ops.cumulative import scan


def test_cummax_cummin_values_and_latest_index():
    t = torchlite.tensor([1.0, 3.0, 2.0, 3.0, 0.0])
    v, i = torchlite.cummax(t, 0)
    assert v.tolist() == [1, 3, 3, 3, 3] and i.tolist() == [0, 1, 1, 3, 3]
    r = torchlite.cummin(torchlite.tensor([3, 1, 1, 2]), dim=0)
    assert r.values.tolist() == [3, 1, 1, 1] and r.indices.tolist() == [0, 1, 2, 2]
    assert r.values.dtype == torchlite.int64 and r.indices.dtype == torchlite.int64


def test_nan_propagates_and_later_nans_take_over():
    nan = float("nan")
    v, i = torchlite.tensor([nan, 1.0, nan, 2.0]).cummax(0)
    assert np.isnan(to_np(v)).all() and i.tolist() == [0, 0, 2, 2]


def test_along_other_dims_and_0d():
    a = data((3, 4, 5), 0)
    v, i = torchlite.cummax(torchlite.tensor(a), 1)
    np.testing.assert_array_equal(to_np(v), np.maximum.accumulate(a, axis=1))
    np.testing.assert_array_equal(np.take_along_axis(a, to_np(i), 1), to_np(v))
    z = torchlite.tensor(2.0).cummin(0)
    assert z.values.shape == () and z.indices.item() == 0
    with pytest.raises(IndexError):
        torchlite.cummax(torchlite.ones(3), 1)


def test_logcumsumexp_is_stable():
    a = np.array([[-1000.0, 0.0, 1000.0, 999.0], [1.0, 2.0, 3.0, 4.0]])
    out = to_np(torchlite.logcumsumexp(torchlite.tensor(a), 1))
    np.testing.assert_allclose(out, np.logaddexp.accumulate(a, axis=1))
    assert torchlite.logcumsumexp(torchlite.tensor(a, dtype=torchlite.float32), 1).dtype \
        == torchlite.float32
    with pytest.raises(RuntimeError, match="logcumsumexp"):
        torchlite.logcumsumexp(torchlite.tensor([1, 2]), 0)


def test_log_step_scan_equals_accumulate():
    class NotNumPy:  # the GPU path: whole-array ops only
        take, arange, concatenate = staticmethod(np.take), staticmethod(np.arange), \
            staticmethod(np.concatenate)

    a = data((3, 11), 1)
    for f in (np.maximum, np.logaddexp):
        np.testing.assert_allclose(scan(NotNumPy, f, a, 1), f.accumulate(a, axis=1))


def test_gradcheck():
    a = data((3, 5), 2)
    check_grad(lambda t: torchlite.cummax(t, 1).values, a)
    check_grad(lambda t: torchlite.cummin(t, 0).values, a)
    check_grad(lambda t: torchlite.logcumsumexp(t, 1), a)
    check_grad(lambda t: torchlite.logcumsumexp(t * 30, 0), a)


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    a = np.round(data((4, 6), 3) * 2) / 2  # ties
    for name in ("cummax", "cummin"):
        for d in (0, 1):
            t = torchlite.tensor(a, requires_grad=True)
            e = torch.tensor(a, requires_grad=True)
            r, q = getattr(torchlite, name)(t, d), getattr(torch, name)(e, d)
            assert r.indices.tolist() == q.indices.tolist()
            (r.values * torchlite.tensor(a)).sum().backward()
            (q.values * torch.tensor(a)).sum().backward()
            np.testing.assert_allclose(to_np(t.grad), e.grad.numpy())
    t = torchlite.tensor(a * 10, requires_grad=True)
    e = torch.tensor(a * 10, requires_grad=True)
    np.testing.assert_allclose(to_np(torchlite.logcumsumexp(t, 1)),
                               torch.logcumsumexp(e, 1).detach().numpy())
    w = data((4, 6), 4)
    (torchlite.logcumsumexp(t, 1) * torchlite.tensor(w)).sum().backward()
    (torch.logcumsumexp(e, 1) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(t.grad), e.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradgradcheck():
    a = data((3, 4), 5) * 3
    for fn in (lambda t: torchlite.cummax(t, 1).values, lambda t: torchlite.cummin(t, 0).values,
               lambda t: torchlite.logcumsumexp(t, 1), lambda t: torchlite.logcumsumexp(t, 0)):
        assert torchlite.autograd.gradgradcheck(fn, [torchlite.tensor(a, requires_grad=True)])
