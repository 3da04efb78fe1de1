"""Learning-rate schedulers: the lr over 100 steps against formulas written here (with a state_dict
round trip through a safetensors file mid-way), chained vs closed form, PyTorch parity, and
ReduceLROnPlateau on a scripted metric sequence."""

import math
import warnings

import pytest

import torchlite
from torchlite.optim import SGD, Adam, lr_scheduler

BASE = (0.1, 0.05)  # two param groups with different initial lrs
STEPS = 100


def make_opt(lib, optimizer="SGD"):
    groups = [{"params": [lib.zeros(2, requires_grad=True)], "lr": BASE[0]},
              {"params": [lib.zeros(1, requires_grad=True)], "lr": BASE[1]}]
    if optimizer == "Adam":
        return lib.optim.Adam(groups, betas=(0.9, 0.999))
    return lib.optim.SGD(groups, lr=1.0, momentum=0.9)


def lambda1(e):
    return 1.0 / (1.0 + e)


def lambda2(e):
    return 0.97**e


def cos_anneal(start, end, pct):
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def lin_anneal(start, end, pct):
    return start + (end - start) * pct


def one_cycle(e, base, phases, anneal):
    """phases: [(end_step, start_lr, end_lr)]; the last phase continues past its end."""
    start = 0.0
    for i, (end, a, b) in enumerate(phases):
        if e <= end or i == len(phases) - 1:
            return anneal(a, b, (e - start) / (end - start))
        start = end


def cyclic(e, base, top, up, down, scale):
    pos = e % (up + down)
    frac = pos / up if pos <= up else (up + down - pos) / down
    return base + (top - base) * frac * scale(e, e // (up + down) + 1)


def warm_restarts(e, base, t0, mult, eta_min):
    t_i, t_cur = t0, e
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


# name -> (factory(sched_module, opt), expected lr at epoch e for initial lr `b`, optimizer)
CASES = {
    "StepLR": (lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
               lambda e, b: b * 0.5 ** (e // 7)),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[10, 25, 25, 60], gamma=0.3),
                    lambda e, b: b * 0.3 ** sum(e >= s for s in (10, 25, 25, 60))),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.97), lambda e, b: b * 0.97**e),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=12),
                   lambda e, b: b * (0.25 if e < 12 else 1.0)),
    "LinearLR": (lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=30),
                 lambda e, b: b * (0.1 + 0.8 * min(e, 30) / 30)),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lr_lambda=[lambda1, lambda2]),
                 None),  # per-group lambdas: see expected_lrs
    "MultiplicativeLR": (lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
                         lambda e, b: b * 0.95**e),
    "PolynomialLR": (lambda m, o: m.PolynomialLR(o, total_iters=40, power=2.0),
                     lambda e, b: b * (1 - min(e, 40) / 40) ** 2),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=0.01),
                          lambda e, b: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * e / 30)) / 2),
    "CosineAnnealingWarmRestarts": (
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001),
        lambda e, b: warm_restarts(e, b, 10, 2, 0.001)),
    "CyclicLR": (
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=5,
                                step_size_down=10),
        None),
    "CyclicLR-triangular2": (
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                mode="triangular2", cycle_momentum=False),
        lambda e, b: cyclic(e, 0.01, 0.1, 4, 4, lambda it, c: 1 / 2 ** (c - 1))),
    "CyclicLR-exp_range": (
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6, step_size_down=3,
                                mode="exp_range", gamma=0.98),
        lambda e, b: cyclic(e, 0.01, 0.1, 6, 3, lambda it, c: 0.98**it), "Adam"),
    "OneCycleLR": (
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=STEPS + 1),
        lambda e, b: one_cycle(e, b, [(0.3 * 101 - 1, 0.1 / 25, 0.1),
                                      (100, 0.1, 0.1 / 25 / 1e4)], cos_anneal)),
    "OneCycleLR-three_phase-linear": (
        lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], epochs=10, steps_per_epoch=11,
                                  pct_start=0.25, anneal_strategy="linear", three_phase=True,
                                  div_factor=10.0, final_div_factor=100.0),
        None, "Adam"),
    "SequentialLR": (
        lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=10),
                                        m.ExponentialLR(o, gamma=0.9)], milestones=[10]),
        lambda e, b: b * (0.1 + 0.9 * e / 10) if e < 10 else b * 0.9 ** (e - 10)),
    "ChainedScheduler": (
        lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=5),
                                         m.ExponentialLR(o, gamma=0.9)]),
        lambda e, b: b * 0.9**e * (0.5 if e < 5 else 1.0)),
}


def expected_lrs(name, e):
    entry = CASES[name]
    if name == "LambdaLR":
        return [BASE[0] * lambda1(e), BASE[1] * lambda2(e)]
    if name == "CyclicLR":
        return [cyclic(e, 0.01, top, 5, 10, lambda it, c: 1.0) for top in (0.1, 0.2)]
    if name == "OneCycleLR-three_phase-linear":
        out = []
        for top in (0.1, 0.2):
            lo = top / 10
            out.append(one_cycle(e, lo, [(0.25 * 110 - 1, lo, top), (2 * 0.25 * 110 - 2, top, lo),
                                         (109, lo, lo / 100)], lin_anneal))
        return out
    return [entry[1](e, b) for b in BASE]


def optimizer_kind(name):
    entry = CASES[name]
    return entry[2] if len(entry) > 2 else "SGD"


def run_schedule(name, tmp_path=None, roundtrip_at=None, lib=torchlite):
    """The lrs of both groups at epochs 0..STEPS (and the optimizers' momentum/beta1 values)."""
    module = lib.optim.lr_scheduler
    opt = make_opt(lib, optimizer_kind(name))
    sched = CASES[name][0](module, opt)
    lrs, moms = [list(sched.get_last_lr())], [_momenta(opt)]
    for epoch in range(1, STEPS + 1):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append(_momenta(opt))
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
        if epoch == roundtrip_at:
            path = tmp_path / "sched.safetensors"
            torchlite.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
            opt = make_opt(lib, optimizer_kind(name))
            sched = CASES[name][0](module, opt)  # a fresh scheduler, then the saved state
            saved = torchlite.load(path)
            opt.load_state_dict(saved["optimizer"])
            sched.load_state_dict(saved["scheduler"])
            assert sched.get_last_lr() == lrs[-1]
            assert getattr(sched, "last_epoch", epoch) == epoch  # ChainedScheduler has none
    return lrs, moms


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_formula_with_round_trip(name, tmp_path):
    lrs, _ = run_schedule(name, tmp_path, roundtrip_at=50)
    for e, got in enumerate(lrs):
        assert got == pytest.approx(expected_lrs(name, e), rel=1e-9, abs=1e-15), f"epoch {e}"


def expected_momenta(name, e):
    """CyclicLR moves the momentum against the lr between max_momentum (0.9) and base_momentum
    (0.8); OneCycleLR anneals it from max_momentum (0.95) to base_momentum (0.85) and back."""
    if name == "CyclicLR":
        return [cyclic(e, 0.9, 0.8, 5, 10, lambda it, c: 1.0)] * 2
    if name == "CyclicLR-exp_range":
        return [cyclic(e, 0.9, 0.8, 6, 3, lambda it, c: 0.98**it)] * 2
    if name == "OneCycleLR":
        return [one_cycle(e, 0, [(0.3 * 101 - 1, 0.95, 0.85), (100, 0.85, 0.95)],
                          cos_anneal)] * 2
    return [one_cycle(e, 0, [(0.25 * 110 - 1, 0.95, 0.85), (2 * 0.25 * 110 - 2, 0.85, 0.95),
                             (109, 0.95, 0.95)], lin_anneal)] * 2


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith(("CyclicLR", "OneCycle"))])
def test_cyclic_schedules_cycle_the_momentum(name):
    _, moms = run_schedule(name)
    for e, got in enumerate(moms):
        if name == "CyclicLR-triangular2":  # cycle_momentum=False: momentum untouched
            assert got == [0.9, 0.9]
        else:
            assert got == pytest.approx(expected_momenta(name, e), rel=1e-12), f"epoch {e}"


@pytest.mark.parametrize("name", [n for n in CASES if n.split("-")[0] in (
    "StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR", "PolynomialLR",
    "CosineAnnealingLR")])
def test_chained_and_closed_forms_agree(name):
    opt = make_opt(torchlite)
    sched = CASES[name][0](lr_scheduler, opt)
    for _ in range(STEPS):
        opt.step()
        sched.step()
        assert sched._get_closed_form_lr() == pytest.approx(sched.get_last_lr(), rel=1e-9)
    # step(epoch) jumps with the closed form (deprecated in PyTorch, still supported)
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(17)
    assert sched.last_epoch == 17
    assert sched.get_last_lr() == pytest.approx(expected_lrs(name, 17), rel=1e-12)


@pytest.mark.parity
@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_parity(name):
    torch = pytest.importorskip("torch")
    ours, our_moms = run_schedule(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, their_moms = run_schedule(name, lib=torch)
    for e in range(STEPS + 1):
        assert ours[e] == pytest.approx(theirs[e], rel=1e-12, abs=1e-18), f"epoch {e}"
        assert our_moms[e] == pytest.approx(their_moms[e], rel=1e-12), f"epoch {e}"


# ------------------------------------------------------------------------------------------------
# ReduceLROnPlateau

METRICS = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.5, 0.5, 0.5, 0.4999, 0.2, 0.3, 0.3, 0.3, 0.3,
           0.3, 0.3, 0.3, 0.1, 0.1]


def plateau_lrs(lib, metrics, **kw):
    opt = make_opt(lib)
    sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append(list(sched.get_last_lr()))
    return out, sched


def test_reduce_on_plateau_scripted():
    lrs, sched = plateau_lrs(torchlite, METRICS, factor=0.5, patience=2, cooldown=1)
    first = [lr[0] for lr in lrs]
    # epochs 3-5 are bad after the best 0.9: the third exceeds patience 2 -> halve at epoch 5,
    # cooldown 1 swallows epoch 6 (0.5, a new best anyway); 7-9 repeat 0.5 -> halve at 9;
    # 0.4999 is not better than 0.5 by the relative threshold 1e-4 (and falls in the cooldown);
    # 0.2 is a new best; 12-14 are bad -> halve at 14; 15 is cooled down; 16-18 -> halve at 18
    expected = [0.1] * 4 + [0.05] * 4 + [0.025] * 5 + [0.0125] * 4 + [0.00625] * 3
    assert first == pytest.approx(expected)
    assert [lr[1] for lr in lrs] == pytest.approx([x / 2 for x in expected])
    assert sched.best == 0.1 and sched.last_epoch == len(METRICS)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(mode="max", patience=1),
    dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=[0.02, 0.0]),
    dict(mode="max", threshold_mode="abs", threshold=0.01, factor=0.3, cooldown=2, patience=0),
    dict(patience=1, eps=0.02),
])
def test_reduce_on_plateau_rules(kw):
    """The same sequence judged by a plain re-statement of the documented rules."""
    metrics = [math.sin(k / 3) + 0.01 * k for k in range(STEPS)]
    lrs, sched = plateau_lrs(torchlite, metrics, **kw)
    mode = kw.get("mode", "min")
    thr, thr_mode = kw.get("threshold", 1e-4), kw.get("threshold_mode", "rel")
    factor, patience = kw.get("factor", 0.1), kw.get("patience", 10)
    cooldown, eps = kw.get("cooldown", 0), kw.get("eps", 1e-8)
    min_lr = kw.get("min_lr", 0.0)
    min_lrs = min_lr if isinstance(min_lr, list) else [min_lr, min_lr]
    best, bad, cool, cur = (math.inf if mode == "min" else -math.inf), 0, 0, list(BASE)
    for m, got in zip(metrics, lrs):
        if mode == "min":
            better = m < (best * (1 - thr) if thr_mode == "rel" else best - thr)
        else:
            better = m > (best * (1 + thr) if thr_mode == "rel" else best + thr)
        best, bad = (m, 0) if better else (best, bad + 1)
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            new = [max(lr * factor, lo) for lr, lo in zip(cur, min_lrs)]
            cur = [n if lr - n > eps else lr for lr, n in zip(cur, new)]
            cool, bad = cooldown, 0
        assert got == pytest.approx(cur, rel=1e-12)


def test_reduce_on_plateau_round_trip(tmp_path):
    lrs, sched = plateau_lrs(torchlite, METRICS[:10], factor=0.5, patience=2, cooldown=1)
    torchlite.save(sched.state_dict(), tmp_path / "p.safetensors")
    opt = make_opt(torchlite)
    for g, lr in zip(opt.param_groups, lrs[-1]):
        g["lr"] = lr
    fresh = lr_scheduler.ReduceLROnPlateau(opt, factor=0.9)
    fresh.load_state_dict(torchlite.load(tmp_path / "p.safetensors"))
    rest = []
    for m in METRICS[10:]:
        fresh.step(m)
        rest.append(fresh.get_last_lr()[0])
    full, _ = plateau_lrs(torchlite, METRICS, factor=0.5, patience=2, cooldown=1)
    assert rest == pytest.approx([lr[0] for lr in full[10:]])


@pytest.mark.parity
@pytest.mark.parametrize("kw", [
    dict(), dict(mode="max", patience=1, factor=0.5), dict(threshold_mode="abs", patience=0,
                                                         threshold=0.05, cooldown=3, min_lr=0.01),
])
def test_reduce_on_plateau_parity(kw):
    torch = pytest.importorskip("torch")
    metrics = [math.sin(k / 3) + 0.01 * k for k in range(STEPS)]
    ours, _ = plateau_lrs(torchlite, metrics, **kw)
    theirs, _ = plateau_lrs(torch, metrics, **kw)
    for a, b in zip(ours, theirs):
        assert a == pytest.approx(b, rel=1e-12)


# ------------------------------------------------------------------------------------------------
# base behaviour and validation


def test_base_lrs_initial_lr_and_last_epoch():
    opt = make_opt(torchlite)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    assert sched.base_lrs == list(BASE) and sched.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASE)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(make_opt(torchlite), step_size=2, last_epoch=5)
    resumed = lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)  # initial_lr is there now
    assert resumed.last_epoch == 4
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)


def test_lambda_state_dict_skips_functions_and_keeps_callable_objects():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, e):
            return self.rate**e

    opt = make_opt(torchlite)
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 1.0, Decay(0.5)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"rate": 0.5}] and "optimizer" not in sd
    other = lr_scheduler.LambdaLR(make_opt(torchlite), [lambda e: 1.0, Decay(0.9)])
    other.load_state_dict(sd)
    assert other.lr_lambdas[1].rate == 0.5


def test_warnings_for_wrong_call_order_and_get_lr():
    opt = make_opt(torchlite)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


@pytest.mark.parametrize("make, match", [
    (lambda o: lr_scheduler.ConstantLR(o, factor=1.5), "factor"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), "start_factor"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=2.0), "end_factor"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0]), "lr_lambdas"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), "T_0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "T_mult"),
    (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), "mode"),
    (lambda o: lr_scheduler.CyclicLR(o, 0.01, [0.1]), "max_lr"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
     "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     "anneal_strategy"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "Factor"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), "mode"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"), "threshold mode"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), "min_lrs"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], milestones=[3]),
     "milestone"),
    (lambda o: lr_scheduler.ChainedScheduler([]), "at least one"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []),
     "ReduceLROnPlateau"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(make_opt(torchlite), 2)], []),
     "same optimizer"),
])
def test_scheduler_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make(make_opt(torchlite))


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = make_opt(torchlite)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="total steps"):
        sched.step()


def test_cycle_momentum_needs_momentum():
    opt = torchlite.optim.Adagrad([torchlite.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.CyclicLR(opt, 0.01, 0.1)


def test_warm_restarts_fractional_epochs():
    opt = make_opt(torchlite)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)
    for epoch in (0.5, 9.5, 10.0, 25.0, 31.0):
        sched.step(epoch)
        t_i, t_cur = (10, epoch) if epoch < 10 else (
            (20, epoch - 10) if epoch < 30 else (40, epoch - 30))
        assert sched.get_last_lr()[0] == pytest.approx(
            BASE[0] * (1 + math.cos(math.pi * t_cur / t_i)) / 2)


def test_schedulers_drive_real_optimizers():
    p = torchlite.ones(1, requires_grad=True)
    opt = Adam([p], lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = torchlite.ones(1)
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)
    assert isinstance(SGD([p], lr=0.1), torchlite.optim.Optimizer)


def test_tensor_lr_is_updated_in_place():
    p = torchlite.ones(2, requires_grad=True)
    lr = torchlite.tensor(0.1)
    opt = Adam([p], lr=lr)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        p.grad = torchlite.ones(2)
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.025)
    assert sched.base_lrs[0].item() == pytest.approx(0.1)  # a copy, not the live tensor
    assert sched.get_last_lr()[0] is not lr
