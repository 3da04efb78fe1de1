"""optim.swa_utils: AveragedModel (SWA mean, EMA, custom rules, buffers), update_bn and SWALR,
against their definitions computed by hand, and against PyTorch where it is installed."""

import math

import numpy as np
import pytest

import torchlite
from torchlite import nn
from torchlite.optim import swa_utils

T = torchlite.tensor


def snapshot(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def perturbed(model, step):
    with torchlite.no_grad():
        for i, p in enumerate(model.parameters()):
            p.add_(T(np.random.default_rng(10 * step + i).standard_normal(tuple(p.shape)),
                     dtype=p.dtype))


def test_swa_is_the_mean_and_ema_the_recursion():
    torchlite.manual_seed(0)
    model = nn.Linear(3, 2)
    swa = swa_utils.AveragedModel(model)
    ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.8))
    one = swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(0.8))
    seen = []
    for step in range(4):
        perturbed(model, step)
        seen.append(snapshot(model))
        for avg in (swa, ema, one):
            avg.update_parameters(model)
    assert swa.n_averaged.item() == 4 and swa.n_averaged.dtype == torchlite.int64
    for key in ("weight", "bias"):
        mean = np.mean([s[key] for s in seen], axis=0)
        np.testing.assert_allclose(swa.module.state_dict()[key].numpy(), mean, rtol=1e-5,
                                   atol=1e-6)
        e = seen[0][key].astype(np.float64)
        for s in seen[1:]:
            e = 0.8 * e + 0.2 * s[key]
        np.testing.assert_allclose(ema.module.state_dict()[key].numpy(), e, rtol=1e-5)
        np.testing.assert_allclose(one.module.state_dict()[key].numpy(), e, rtol=1e-5)
    x = T(np.ones((1, 3)), dtype=torchlite.float32)
    np.testing.assert_allclose(swa(x).detach().numpy(), swa.module(x).detach().numpy())
    assert set(swa.state_dict()) == {"n_averaged", "module.weight", "module.bias"}


def test_buffers_follow_the_model_or_are_averaged():
    model = nn.BatchNorm1d(2)
    plain = swa_utils.AveragedModel(model)
    with_buffers = swa_utils.AveragedModel(model, use_buffers=True)
    means = []
    for step in range(3):
        with torchlite.no_grad():
            model.running_mean.fill_(float(step + 1))
        means.append(float(step + 1))
        plain.update_parameters(model)
        with_buffers.update_parameters(model)
    assert plain.module.running_mean.tolist() == [3.0, 3.0]  # the model's latest
    np.testing.assert_allclose(with_buffers.module.running_mean.numpy(), np.mean(means))
    # an integer buffer is averaged with truncating division, as PyTorch's
    counts = nn.BatchNorm1d(1)
    avg = swa_utils.AveragedModel(counts, use_buffers=True)
    for _ in range(3):
        counts.num_batches_tracked += 5  # 5, 10, 15
        avg.update_parameters(counts)
    assert avg.module.num_batches_tracked.item() == 9  # 5, 5 + 5 // 2, 7 + 8 // 3


def test_update_bn_recomputes_the_statistics_of_all_batches():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    model.eval()
    batches = [T(np.random.default_rng(i).standard_normal((8, 3)), dtype=torchlite.float32)
               for i in range(3)]
    momentum = model[1].momentum
    swa_utils.update_bn([(b, None) for b in batches], model)
    with torchlite.no_grad():
        outs = [model[0](b).numpy() for b in batches]
    # a cumulative average of each batch's statistics (unbiased variance, as BatchNorm keeps)
    np.testing.assert_allclose(model[1].running_mean.numpy(),
                               np.mean([o.mean(0) for o in outs], axis=0), rtol=1e-5)
    np.testing.assert_allclose(model[1].running_var.numpy(),
                               np.mean([o.var(0, ddof=1) for o in outs], axis=0), rtol=1e-5)
    assert not model.training and model[1].momentum == momentum
    swa_utils.update_bn(batches, nn.Linear(2, 2))  # no BatchNorm: nothing to do


def test_swalr_anneals_to_swa_lr_and_holds():
    for strategy, curve in (("cos", lambda t: (1 - math.cos(math.pi * t)) / 2),
                            ("linear", lambda t: t)):
        opt = torchlite.optim.SGD([nn.Parameter(torchlite.zeros(1))], lr=1.0)
        sched = swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=4, anneal_strategy=strategy)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(6):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        # the lr goes from 1.0 along the curve to 0.1 at step 4 and stays
        want = [0.1 * curve(min(s / 4, 1)) + 1.0 * (1 - curve(min(s / 4, 1))) for s in range(7)]
        np.testing.assert_allclose(lrs, want, rtol=1e-12)
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="decay"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(nn.Linear(1, 1), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())


def test_averaged_model_saves_and_loads(tmp_path):
    model = nn.Linear(2, 2)
    swa = swa_utils.AveragedModel(model)
    swa.update_parameters(model)
    perturbed(model, 1)
    swa.update_parameters(model)
    torchlite.save(swa.state_dict(), tmp_path / "swa.safetensors")
    other = swa_utils.AveragedModel(nn.Linear(2, 2))
    other.load_state_dict(torchlite.load(tmp_path / "swa.safetensors"))
    assert other.n_averaged.item() == 2
    np.testing.assert_array_equal(other.module.weight.detach().numpy(),
                                  swa.module.weight.detach().numpy())


@pytest.mark.parity
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torchlite, torch):
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4),
                                  lib.nn.Linear(4, 2))
        state = {k: lib.tensor(np.random.default_rng(i).standard_normal(tuple(v.shape))
                               .astype(np.float32)) if v.is_floating_point() else v
                 for i, (k, v) in enumerate(model.state_dict().items())}
        state["1.running_var"] = state["1.running_var"].abs()
        model.load_state_dict(state)
        swa = lib.optim.swa_utils.AveragedModel(model)
        ema = lib.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.9),
            use_buffers=True)
        opt = lib.optim.SGD(model.parameters(), lr=0.01)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.005, anneal_epochs=3)
        x = lib.tensor(np.random.default_rng(9).standard_normal((8, 3)).astype(np.float32))
        lrs = []
        for _ in range(5):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
            swa.update_parameters(model)
            ema.update_parameters(model)
        lib.optim.swa_utils.update_bn([x, x * 2], swa)
        results.append((lrs, {k: v.detach().numpy().copy() for k, v in swa.state_dict().items()},
                        {k: v.detach().numpy().copy() for k, v in ema.state_dict().items()}))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    for i in (1, 2):
        assert sorted(results[0][i]) == sorted(results[1][i])
        for k in results[1][i]:
            np.testing.assert_allclose(results[0][i][k], results[1][i][k], rtol=1e-5, atol=1e-6,
                                       err_msg=k)
