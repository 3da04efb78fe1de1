"""meshgrid (torchlite/ops/join.py; cat/stack/split are tested in test_shape.py)."""

import warnings

import numpy as np
import pytest
from _core_checks import check_grad, data, to_np

import torchlite


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_numpy(indexing, device):
    a, b, c = data((2,), 1), data((3,), 2), data((4,), 3)
    ts = [torchlite.tensor(v, device=device) for v in (a, b, c)]
    for args in ((ts[0],), (ts[0], ts[1]), (ts[0], ts[1], ts[2])):
        grids = torchlite.meshgrid(*args, indexing=indexing)
        ref = np.meshgrid(*[to_np(t) for t in args], indexing=indexing)
        assert len(grids) == len(ref)
        for g, r in zip(grids, ref):
            assert g.dtype == args[0].dtype
            np.testing.assert_array_equal(to_np(g), r)
    assert [tuple(g.shape) for g in torchlite.meshgrid(ts[:2], indexing=indexing)] == \
        [tuple(r.shape) for r in np.meshgrid(a, b, indexing=indexing)]  # a list works too


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_gradcheck(indexing):
    w = torchlite.tensor(data((4, 2, 3), 4), dtype=torchlite.float64)

    def fn(x, y, z):
        gx, gy, gz = torchlite.meshgrid(x, y, z, indexing=indexing)
        return (gx * gy + gz) * w.reshape(tuple(gx.shape))

    check_grad(fn, data((2,), 5), data((4,), 6), data((3,), 7))


def test_meshgrid_grids_are_views_and_0d_counts_as_one():
    x = torchlite.tensor([1.0, 2.0])
    gx, _ = torchlite.meshgrid(x, torchlite.tensor([0.0, 0.0, 0.0]), indexing="ij")
    x[0] = 9.0
    assert gx[0, 2].item() == 9.0
    g = torchlite.meshgrid(torchlite.tensor(1.0), x, indexing="xy")
    assert [tuple(t.shape) for t in g] == [(2, 1), (2, 1)]


def test_meshgrid_default_indexing_warns_like_pytorch_and_errors():
    x = torchlite.ones(2)
    with pytest.warns(UserWarning, match="indexing argument"):
        assert tuple(torchlite.meshgrid(x, torchlite.ones(3))[0].shape) == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torchlite.meshgrid(x, indexing="ij")
    with pytest.raises(RuntimeError, match="indexing must be one of"):
        torchlite.meshgrid(x, indexing="ji")
    with pytest.raises(RuntimeError, match="0D or 1D"):
        torchlite.meshgrid(torchlite.ones(2, 2), indexing="ij")
    with pytest.raises(RuntimeError, match="same dtype"):
        torchlite.meshgrid(x, torchlite.ones(2, dtype=torchlite.int64), indexing="ij")


@pytest.mark.parity
def test_meshgrid_parity():
    torch = pytest.importorskip("torch")
    a, b = data((3,), 8).astype(np.float32), data((4,), 9).astype(np.float32)
    ours = torchlite.meshgrid(torchlite.tensor(a), torchlite.tensor(b), indexing="xy")
    ref = torch.meshgrid(torch.tensor(a), torch.tensor(b), indexing="xy")
    for o, r in zip(ours, ref):
        np.testing.assert_array_equal(to_np(o), r.numpy())
