"""SyncBatchNorm on one process: BatchNorm's numbers, the synchronised op's own backward
(all-reduce made the identity), and convert_sync_batchnorm. The multi-rank runs are in
tests/distributed/test_ddp_ranks.py."""

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
from torchlite.autograd.gradcheck import gradcheck
from torchlite.nn.modules import syncbatchnorm


def test_without_a_process_group_it_is_batchnorm():
    torchlite.manual_seed(0)
    x = torchlite.randn(6, 3, 4)
    bn, sbn = nn.BatchNorm1d(3), nn.SyncBatchNorm(3)
    np.testing.assert_allclose(sbn(x).detach().numpy(), bn(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(sbn.running_var.numpy(), bn.running_var.numpy(), rtol=1e-6)
    assert list(sbn.state_dict()) == list(bn.state_dict())
    with pytest.raises(ValueError, match="at least 2D"):
        sbn(torchlite.randn(3))


def test_synchronised_op_matches_batchnorm_and_gradchecks(monkeypatch):
    monkeypatch.setattr(syncbatchnorm, "_all_reduce", lambda arr, group, dev: arr)
    rng = np.random.default_rng(1)
    x = torchlite.tensor(rng.standard_normal((5, 3, 2)), requires_grad=True)
    w = torchlite.tensor(rng.standard_normal(3), requires_grad=True)
    b = torchlite.tensor(rng.standard_normal(3), requires_grad=True)

    def op(x, w, b):
        return syncbatchnorm._SyncBatchNormOp.apply(x, w, b, 1e-5, None, x._device, [])

    ref = nn.functional.batch_norm(x, None, None, w, b, training=True)
    np.testing.assert_allclose(op(x, w, b).detach().numpy(), ref.detach().numpy(), rtol=1e-10)
    assert gradcheck(op, (x, w, b))


def test_convert_keeps_parameters_buffers_and_mode():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(4)))
    net.eval()
    bn = net[1]
    out = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert out is net and isinstance(net[1], nn.SyncBatchNorm)
    assert isinstance(net[2][0], nn.SyncBatchNorm) and not net[1].training
    assert net[1].weight is bn.weight and net[1].running_mean is bn.running_mean
    assert isinstance(nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(2)),
                      nn.SyncBatchNorm)


@pytest.mark.parity
def test_state_dict_keys_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(3)))
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
        torch.nn.Sequential(torch.nn.BatchNorm1d(3)))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert type(theirs[0]).__name__ == type(ours[0]).__name__
