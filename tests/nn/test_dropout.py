from __future__ import annotations

import importlib

import numpy as np
import pytest
from _nn_checks import npy, rnd, t32

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite._cuda_kernels import dropout as kernels


def test_train_zeroes_and_scales_eval_is_identity():
    torchlite.manual_seed(0)
    d = nn.Dropout(0.25)
    x = t32(np.ones((200, 50)), requires_grad=True)
    out = d(x)
    vals = npy(out)
    assert set(np.unique(vals).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    assert abs((vals == 0).mean() - 0.25) < 0.02
    assert out.dtype == torchlite.float32
    out.sum().backward()
    np.testing.assert_array_equal(npy(x.grad), vals)  # the gradient is the scaled mask
    d.eval()
    assert d(x) is x


def test_edge_probabilities_and_errors():
    x = t32(rnd((3, 4)))
    assert F.dropout(x, 0.0) is x
    assert not npy(F.dropout(x, 1.0)).any()
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


def test_generator_makes_masks_reproducible():
    x = t32(np.ones((4, 5)))
    a = F.dropout(x, 0.5, generator=torchlite.Generator().manual_seed(3))
    b = F.dropout(x, 0.5, generator=torchlite.Generator().manual_seed(3))
    np.testing.assert_array_equal(npy(a), npy(b))
    torchlite.manual_seed(9)
    c = nn.Dropout()(x)
    torchlite.manual_seed(9)
    np.testing.assert_array_equal(npy(c), npy(nn.Dropout()(x)))


@pytest.mark.parametrize("cls,shape", [
    (nn.Dropout1d, (8, 6, 5)), (nn.Dropout1d, (6, 5)), (nn.Dropout2d, (8, 6, 3, 3)),
    (nn.Dropout3d, (4, 6, 2, 2, 2)),
])
def test_channel_dropout_drops_whole_channels(cls, shape):
    torchlite.manual_seed(1)
    out = npy(cls(0.5)(t32(np.ones(shape))))
    lead = 1 if len(shape) == 2 else 2  # (C, L) is unbatched
    per_channel = out.reshape(shape[:lead] + (-1,))
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()
    assert 0 < (per_channel == 0).all(-1).mean() < 1


def test_dropout1d_rejects_bad_rank():
    with pytest.raises(RuntimeError, match="Expected 2D or 3D"):
        F.dropout1d(t32(np.ones((2, 2, 2, 2))))


def test_inplace_dropout_without_grad():
    torchlite.manual_seed(2)
    x = t32(np.ones((10, 10)))
    out = nn.Dropout(0.5, inplace=True)(x)
    assert out is x and (npy(x) == 0).any()


def test_alpha_dropout_keeps_mean_and_variance():
    torchlite.manual_seed(3)
    x = t32(np.random.default_rng(0).standard_normal((400, 250)))
    out = npy(nn.AlphaDropout(0.2).train()(x))
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    vals, counts = np.unique(out, return_counts=True)
    assert abs(counts.max() / out.size - 0.2) < 0.02  # the dropped units share one value
    a = 1 / np.sqrt((1.7580993408473766**2 * 0.2 + 1) * 0.8)
    np.testing.assert_allclose(vals[counts.argmax()], -1.7580993408473766 * a * 0.8, rtol=1e-5)
    assert nn.AlphaDropout(0.2).eval()(x) is x
    f = npy(nn.FeatureAlphaDropout(0.5).train()(t32(np.zeros((4, 6, 3)))))
    assert (f == f[:, :, :1]).all()


def test_repr():
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout2d(0.1, True)) == "Dropout2d(p=0.1, inplace=True)"


@pytest.mark.parametrize("fn,shape", [
    (F.dropout, (3, 4)), (F.dropout1d, (2, 3, 2)), (F.alpha_dropout, (3, 4)),
    (F.feature_alpha_dropout, (2, 3, 2)),
])
def test_gradcheck_with_a_fixed_mask(fn, shape):
    from _nn_checks import check_fn_grads, t64

    def run(x):  # a freshly seeded generator draws the same mask on every call
        return fn(x, 0.4, training=True, generator=torchlite.Generator().manual_seed(5))

    check_fn_grads(run, t64(rnd(shape)))


def test_dropout_layers_have_no_state():
    for m in (nn.Dropout(), nn.Dropout1d(), nn.Dropout2d(), nn.Dropout3d(), nn.AlphaDropout()):
        assert m.state_dict() == {} and list(m.parameters()) == []



# -- dropout's GPU path, exercised without a GPU: the mask kernel's NumPy reference stands in
# for the kernel. The mask must come from one seed drawn from the generator, so that
# manual_seed makes GPU dropout reproducible.


dropout_module = importlib.import_module("torchlite.nn.functional.dropout")


@pytest.fixture
def fake_gpu(monkeypatch):
    class Refs:
        draw_seed = staticmethod(kernels.draw_seed)
        dropout_mask = staticmethod(kernels.dropout_mask_reference)

    monkeypatch.setattr(dropout_module, "_kernels", lambda: Refs)
    monkeypatch.setattr(dropout_module, "_on_gpu", lambda a: True)


@pytest.mark.parametrize("fn,shape,mask_shape", [
    (F.dropout, (4, 50), (4, 50)), (F.dropout2d, (2, 3, 4, 4), (2, 3, 1, 1)),
])
def test_gpu_mask_from_one_seed(fn, shape, mask_shape, fake_gpu):
    x = torchlite.ones(shape, requires_grad=True)
    torchlite.manual_seed(7)
    y = fn(x, p=0.3, training=True)
    torchlite.manual_seed(7)
    expected = kernels.dropout_mask_reference(mask_shape, 0.3, seed=kernels.draw_seed(),
                                              dtype=np.float32)
    np.testing.assert_array_equal(y.detach().numpy(), np.broadcast_to(expected, shape))
    assert set(np.unique(expected)) <= {0.0, np.float32(1 / 0.7)}
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(expected, shape))
    torchlite.manual_seed(7)
    np.testing.assert_array_equal(fn(x, p=0.3, training=True).detach().numpy(), y.detach().numpy())
