import numpy as np
import pytest
from _nn_checks import check_module_grads, layout, npy, parity, rnd, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def _bn_ref(x, axes, eps=1e-5):
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batchnorm1d_training_forward_and_running_stats(shape):
    bn = nn.BatchNorm1d(3, momentum=0.3)
    x = rnd(shape, 0, -1, 3).astype(np.float32)
    out = bn(t32(x))
    axes = (0,) if len(shape) == 2 else (0, 2)
    assert out.dtype == torchlite.float32
    np.testing.assert_allclose(npy(out), _bn_ref(x.astype(np.float64), axes), rtol=1e-4,
                               atol=1e-5)
    n = x.size // 3
    mean = x.astype(np.float64).mean(axis=axes)
    var = x.astype(np.float64).var(axis=axes) * n / (n - 1)
    np.testing.assert_allclose(npy(bn.running_mean), 0.3 * mean, rtol=1e-5)
    np.testing.assert_allclose(npy(bn.running_var), 0.7 + 0.3 * var, rtol=1e-5)
    assert int(bn.num_batches_tracked) == 1
    assert bn.num_batches_tracked.dtype == torchlite.int64


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(3)
    with torchlite.no_grad():
        bn.running_mean.copy_(t32([1.0, -1.0, 0.5]))
        bn.running_var.copy_(t32([4.0, 0.25, 1.0]))
        bn.weight.copy_(t32([2.0, 1.0, -1.0]))
        bn.bias.copy_(t32([0.0, 1.0, 2.0]))
    bn.eval()
    x = rnd((5, 3), 1).astype(np.float32)
    out = bn(t32(x))
    invstd = 1 / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-5)
    ref = (x - [1.0, -1.0, 0.5]) * invstd * [2, 1, -1] + [0, 1, 2]
    np.testing.assert_allclose(npy(out), ref, rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked) == 0  # eval does not count batches
    np.testing.assert_allclose(npy(bn.running_mean), [1.0, -1.0, 0.5])
    one = bn(t32(x[:1]))  # a batch of one is fine in eval mode
    assert tuple(one.shape) == (1, 3)
    bn.train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(t32(x[:1]))


def test_batchnorm_momentum_none_is_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rnd((4, 2), s) for s in range(3)]
    for b in batches:
        bn(t32(b))
    np.testing.assert_allclose(npy(bn.running_mean), np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(bn.running_var),
                               np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-5)


def test_batchnorm_options_and_state_dict_layout():
    assert layout(nn.BatchNorm1d(4)) == {
        "weight": (4,), "bias": (4,), "running_mean": (4,), "running_var": (4,),
        "num_batches_tracked": (),
    }
    assert layout(nn.BatchNorm1d(4, affine=False)) == {
        "running_mean": (4,), "running_var": (4,), "num_batches_tracked": ()}
    assert layout(nn.BatchNorm1d(4, bias=False)) == {
        "weight": (4,), "running_mean": (4,), "running_var": (4,), "num_batches_tracked": ()}
    nt = nn.BatchNorm1d(4, track_running_stats=False)
    assert layout(nt) == {"weight": (4,), "bias": (4,)}
    nt.eval()  # without running stats, eval mode still uses batch statistics
    x = rnd((5, 4), 2)
    np.testing.assert_allclose(npy(nt(t32(x))), _bn_ref(x, (0,)), rtol=1e-4, atol=1e-5)
    assert repr(nn.BatchNorm1d(3)) == ("BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, "
                                       "bias=True, track_running_stats=True)")
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(t32(rnd((2, 3, 4, 5))))


def test_batchnorm_loads_checkpoint_without_num_batches_tracked():
    bn = nn.BatchNorm1d(2)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    assert bn.load_state_dict(sd).missing_keys == []


def test_batchnorm_gradcheck_train_and_eval():
    check_module_grads(nn.BatchNorm1d(3), t64(rnd((4, 3), 3)))
    check_module_grads(nn.BatchNorm1d(2), t64(rnd((3, 2, 2), 4)))
    ev = nn.BatchNorm1d(3)
    ev(t32(rnd((5, 3), 5)))
    ev.eval()
    check_module_grads(ev, t64(rnd((4, 3), 6)))
    check_module_grads(nn.BatchNorm1d(3, affine=False), t64(rnd((4, 3), 7)))


def test_functional_batch_norm_nd_and_no_running_stats():
    x = rnd((2, 3, 2, 2), 8)
    out = F.batch_norm(t32(x), None, None, training=True)
    np.testing.assert_allclose(npy(out), _bn_ref(x, (0, 2, 3)), rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="running_mean"):
        F.batch_norm(t32(x), None, None, training=False)


@pytest.mark.parity
def test_batchnorm_parity_train_then_eval():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(3, momentum=0.2), torch.nn.BatchNorm1d(3, momentum=0.2)
    with torchlite.no_grad():
        ours.weight.copy_(t32([0.5, 1.5, -1.0]))
        ours.bias.copy_(t32([0.1, 0.0, -0.2]))
    for seed in range(3):
        parity(ours, theirs, rnd((4, 3, 5), seed).astype(np.float32))
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    parity(ours, theirs, rnd((4, 3), 9).astype(np.float32))


def test_layer_norm():
    ln = nn.LayerNorm((3, 4))
    assert layout(ln) == {"weight": (3, 4), "bias": (3, 4)}
    x = rnd((2, 3, 4), 10).astype(np.float32)
    np.testing.assert_allclose(npy(ln(t32(x))), _bn_ref(x.astype(np.float64), (1, 2)),
                               rtol=1e-4, atol=1e-5)
    check_module_grads(nn.LayerNorm(4), t64(rnd((2, 4), 11)))
    ln2 = nn.LayerNorm(3)
    with torchlite.no_grad():
        ln2.weight.copy_(t32([1.0, 2.0, 3.0]))
    check_module_grads(ln2, t64(rnd((2, 2, 3), 12)))
    check_module_grads(nn.LayerNorm(3, bias=False), t64(rnd((2, 3), 13)))
    assert layout(nn.LayerNorm(3, elementwise_affine=False)) == {}
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    with pytest.raises(RuntimeError, match="normalized_shape"):
        ln(t32(rnd((2, 4, 3))))


def test_group_norm():
    gn = nn.GroupNorm(2, 4)
    assert layout(gn) == {"weight": (4,), "bias": (4,)}
    x = rnd((2, 4, 3), 14).astype(np.float32)
    ref = _bn_ref(x.astype(np.float64).reshape(2, 2, 6), (2,)).reshape(x.shape)
    np.testing.assert_allclose(npy(gn(t32(x))), ref, rtol=1e-4, atol=1e-5)
    g2 = nn.GroupNorm(2, 4)
    with torchlite.no_grad():
        g2.weight.copy_(t32([1.0, -2.0, 0.5, 3.0]))
        g2.bias.copy_(t32([0.0, 1.0, 0.5, -1.0]))
    check_module_grads(g2, t64(rnd((2, 4, 2), 15)))
    check_module_grads(nn.GroupNorm(1, 2, affine=False), t64(rnd((2, 2), 16)))
    assert repr(gn) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


@pytest.mark.parity
def test_layer_and_group_norm_parity():
    torch = pytest.importorskip("torch")
    ln, tln = nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))
    with torchlite.no_grad():
        ln.weight.copy_(t32(rnd((3, 4), 17)))
        ln.bias.copy_(t32(rnd((3, 4), 18)))
    parity(ln, tln, rnd((2, 3, 4), 19).astype(np.float32))
    gn, tgn = nn.GroupNorm(3, 6), torch.nn.GroupNorm(3, 6)
    with torchlite.no_grad():
        gn.weight.copy_(t32(rnd((6,), 20)))
    parity(gn, tgn, rnd((2, 6, 2, 3), 21).astype(np.float32))


def test_rms_norm():
    m = nn.RMSNorm(4, eps=1e-6)
    assert layout(m) == {"weight": (4,)}
    x = rnd((3, 4), 22).astype(np.float32)
    ref = x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(npy(m(t32(x))), ref, rtol=1e-5)
    with torchlite.no_grad():
        m.weight.copy_(t32([1.0, 2.0, 0.5, -1.0]))
    check_module_grads(m, t64(rnd((2, 4), 23)))
    assert repr(nn.RMSNorm(4)) == "RMSNorm((4,), eps=None, elementwise_affine=True)"


@pytest.mark.parity
def test_rms_norm_parity():
    torch = pytest.importorskip("torch")
    m, tm = nn.RMSNorm((2, 3)), torch.nn.RMSNorm((2, 3))
    with torchlite.no_grad():
        m.weight.copy_(t32(rnd((2, 3), 24)))
    parity(m, tm, rnd((4, 2, 3), 25).astype(np.float32))
