"""torchlite.profiler.profile on a small model: what is recorded (forward ops, backward nodes,
optimizer steps, DataLoader batches, record_function ranges), shapes, memory, stacks, the
schedule and its cycles, and the CUDA activity. No time is asserted, only how times relate."""

from __future__ import annotations

import warnings

import pytest

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite import backend
from torchlite.autograd import record
from torchlite.profiler import (
    ProfilerAction,
    ProfilerActivity,
    profile,
    record_function,
    schedule,
    supported_activities,
)
from torchlite.utils.data import DataLoader, TensorDataset

CPU = [ProfilerActivity.CPU]


def make():
    torchlite.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = torchlite.optim.SGD(model.parameters(), lr=0.1)
    data = TensorDataset(torchlite.randn(12, 8), torchlite.randint(0, 4, (12,)))
    return model, opt, DataLoader(data, batch_size=4)


def train(model, opt, loader, prof=None):
    for x, y in loader:
        with record_function("train_step"):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if prof is not None:
            prof.step()


@pytest.fixture
def prof():
    model, opt, loader = make()
    with profile(activities=CPU, record_shapes=True, profile_memory=True, with_stack=True) as p:
        train(model, opt, loader)
    assert record.recorders == []  # the profiler unregistered itself
    return p


def by_name(events):
    return {e.key: e for e in events}


def test_every_kind_of_work_is_recorded(prof):
    avg = by_name(prof.key_averages())
    assert avg["train_step"].count == 3
    assert avg["Optimizer.step#SGD.step"].count == 3
    assert avg["enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__"].count == 4
    forward = [e for e in prof.events() if e.kind == "op"]
    backward = [e for e in prof.events() if e.kind == "backward"]
    assert forward and backward and avg["AccumulateGrad"].count == 3 * 4
    for e in backward:  # backward nodes are named as grad_fn names them
        assert e.name.endswith("Backward0") or e.name == "AccumulateGrad"


def test_ranges_nest_and_self_time_is_total_less_children(prof):
    events = prof.events()
    steps = [e for e in events if e.name == "train_step"]
    for step in steps:
        assert step.cpu_parent is None and step.cpu_children
        for child in step.cpu_children:
            assert child.cpu_parent is step
            assert step.time_range.start <= child.time_range.start
            assert child.time_range.end <= step.time_range.end
        children = sum(c.cpu_time_total for c in step.cpu_children)
        assert step.self_cpu_time_total == pytest.approx(step.cpu_time_total - children)
        assert 0 <= step.self_cpu_time_total <= step.cpu_time_total
    top = sum(e.cpu_time_total for e in events if e.cpu_parent is None)
    assert events.self_cpu_time_total == pytest.approx(top)
    avg = prof.key_averages()
    assert avg.self_cpu_time_total == pytest.approx(events.self_cpu_time_total)
    step_avg = by_name(avg)["train_step"]
    assert step_avg.cpu_time == pytest.approx(step_avg.cpu_time_total / 3)


def test_input_shapes_and_grouping_by_them():
    lin = nn.Linear(8, 16)
    with profile(activities=CPU, record_shapes=True) as p:
        lin(torchlite.randn(2, 8))
        lin(torchlite.randn(5, 8))
        lin(torchlite.randn(5, 8))
    (op,) = {e.name for e in p.events()}
    plain = p.key_averages()
    assert len(plain) == 1 and plain[0].count == 3 and plain[0].input_shapes == []
    grouped = {str(e.input_shapes): e.count for e in p.key_averages(group_by_input_shape=True)}
    assert grouped == {"[[2, 8], [16, 8], [16]]": 1, "[[5, 8], [16, 8], [16]]": 2}


def test_shapes_are_left_out_unless_asked():
    with profile(activities=CPU) as p:
        nn.Linear(3, 2)(torchlite.randn(4, 3))
    assert all(e.input_shapes == [] for e in p.events())


def test_memory_is_the_bytes_of_the_arrays_each_span_makes():
    lin = nn.Linear(8, 16)
    x = torchlite.randn(4, 8)
    with profile(activities=CPU, profile_memory=True) as p:
        with record_function("outer"):
            y = lin(x)
            v = y.view(64)  # a view allocates nothing
            torchlite.relu(v)
    ev = by_name(p.events())
    assert ev[y.grad_fn.fn.__name__].cpu_memory_usage == 4 * 16 * 4
    assert ev["outer"].self_cpu_memory_usage == 0
    assert ev["outer"].cpu_memory_usage == sum(c.cpu_memory_usage
                                               for c in ev["outer"].cpu_children)
    views = [e for e in p.events() if e.name not in ("outer", y.grad_fn.fn.__name__)]
    assert views and min(e.cpu_memory_usage for e in views) == 0


def test_a_custom_function_does_not_count_its_inner_ops_twice():
    class Twice(torchlite.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with profile(activities=CPU, profile_memory=True) as p:
        Twice.apply(torchlite.randn(10))
    ev = by_name(p.events())
    assert ev["Mul"].cpu_memory_usage == 40
    assert ev["Twice"].cpu_memory_usage == 40 and ev["Twice"].self_cpu_memory_usage == 0


def test_with_stack_points_at_the_users_line():
    with profile(activities=CPU, with_stack=True) as p:
        nn.Linear(3, 2)(torchlite.randn(4, 3))  # the line the stack names
    (event,) = p.events()
    assert event.stack[0].startswith(f"{__file__}(")
    assert event.stack[0].endswith(": test_with_stack_points_at_the_users_line")
    with profile(activities=CPU) as q:
        torchlite.randn(2).exp()
    assert q.events()[0].stack == []


def test_group_by_stack_n(prof):
    rows = prof.key_averages(group_by_stack_n=1)
    assert all(len(e.stack) <= 1 for e in rows)
    assert len(rows) >= len(prof.key_averages())


def test_record_function_as_a_decorator_and_without_a_profiler():
    @record_function("helper")
    def helper(x):
        return x + 1

    helper(torchlite.ones(2))  # nothing records: one test, no error
    with profile(activities=CPU) as p:
        helper(torchlite.ones(2))
        helper(torchlite.ones(2))
    avg = by_name(p.key_averages())
    assert avg["helper"].count == 2 and avg["helper"].is_user_annotation


def test_threads_keep_their_own_nesting():
    data = TensorDataset(torchlite.randn(16, 3))
    with profile(activities=CPU) as p:
        with record_function("epoch"):
            for (x,) in DataLoader(data, batch_size=4, num_workers=2):
                x.exp()
    events = p.events()
    (epoch,) = [e for e in events if e.name == "epoch"]
    nexts = [e for e in events if e.name.startswith("enumerate(DataLoader)")]
    assert len(nexts) == 5 and all(e.cpu_parent is epoch for e in nexts)
    assert all(e.thread == epoch.thread for e in nexts)


def test_results_before_anything_was_recorded_are_an_error():
    p = profile(activities=CPU)
    with pytest.raises(RuntimeError, match="nothing recorded yet"):
        p.key_averages()


def test_bad_activities():
    with pytest.raises(TypeError, match="ProfilerActivity"):
        profile(activities=["cpu"])
    assert ProfilerActivity.CPU in supported_activities()


# -- the schedule -------------------------------------------------------------------------------
def test_schedule_actions():
    A = ProfilerAction
    s = schedule(wait=1, warmup=1, active=2, repeat=2, skip_first=1)
    assert [s(i) for i in range(11)] == [
        A.NONE, A.NONE, A.WARMUP, A.RECORD, A.RECORD_AND_SAVE,
        A.NONE, A.WARMUP, A.RECORD, A.RECORD_AND_SAVE, A.NONE, A.NONE]
    forever = schedule(wait=0, warmup=1, active=1)
    assert [forever(i) for i in range(4)] == [A.WARMUP, A.RECORD_AND_SAVE] * 2


@pytest.mark.parametrize("kw", [dict(wait=-1, warmup=1, active=1), dict(wait=0, warmup=1,
                                active=0), dict(wait=0, warmup=1, active=1, repeat=1.5)])
def test_schedule_refuses_bad_counts(kw):
    with pytest.raises(ValueError, match="schedule"):
        schedule(**kw)


def test_schedule_without_warmup_warns_as_pytorch_does():
    with pytest.warns(UserWarning, match="warmup"):
        schedule(wait=1, warmup=0, active=1)


def test_a_schedule_hands_each_cycle_to_on_trace_ready():
    model, opt, _ = make()
    data = TensorDataset(torchlite.randn(40, 8), torchlite.randint(0, 4, (40,)))
    cycles = []

    def ready(p):
        cycles.append((p.step_num, sorted({e.name for e in p.events()
                                           if e.name.startswith("ProfilerStep#")})))

    with profile(activities=CPU, schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=ready) as p:
        train(model, opt, DataLoader(data, batch_size=4), p)  # 10 steps
    assert cycles == [(4, ["ProfilerStep#2", "ProfilerStep#3"]),
                      (8, ["ProfilerStep#6", "ProfilerStep#7"])]
    assert by_name(p.key_averages())["Optimizer.step#SGD.step"].count == 2
    assert record.recorders == []


def test_stop_during_a_recording_phase_finishes_the_cycle():
    cycles = []
    p = profile(activities=CPU, schedule=schedule(wait=0, warmup=1, active=5),
                on_trace_ready=lambda prof: cycles.append(len(prof.events())))
    p.start()
    for _ in range(3):  # warmup, then two of five recorded steps
        torchlite.ones(2).exp()
        p.step()
    p.stop()
    names = [e.name for e in p.events()]
    assert len(cycles) == 1 and names.count("Exp") == 2
    assert "ProfilerStep#3" in names  # the step the stop fell inside ends at the stop


def test_acc_events_keeps_every_cycle():
    p = profile(activities=CPU, schedule=schedule(wait=0, warmup=1, active=1), acc_events=True)
    with p:
        for _ in range(6):
            torchlite.ones(2).exp()
            p.step()
    events = p.events()
    assert [e.name for e in events].count("Exp") == 3
    starts = [e.time_range.start for e in events if e.name == "Exp"]
    assert starts == sorted(starts)  # the cycles share one timeline


# -- CUDA -------------------------------------------------------------------------------------
@pytest.mark.skipif(torchlite.cuda.is_available(), reason="a GPU is present")
def test_cuda_activity_without_a_gpu_records_no_device_time():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        p = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    with p:
        nn.Linear(3, 2)(torchlite.randn(4, 3))
    assert all(e.device_time_total == 0 for e in p.events())
    table = p.key_averages().table()
    assert "CUDA" not in table and "Self CPU time total" in table


class FakeEvent:
    clock = 0.0

    def __init__(self):
        FakeEvent.clock += 1.0
        self.t = FakeEvent.clock  # "GPU milliseconds" at which it completed


@pytest.fixture
def fake_gpu(monkeypatch):
    """backend's CUDA event functions over a fake GPU clock: the CUDA path on any machine."""
    FakeEvent.clock = 0.0
    monkeypatch.setattr(backend, "cuda_available", lambda: True)
    monkeypatch.setattr(backend, "cuda_event_record", FakeEvent)
    monkeypatch.setattr(backend, "cuda_event_elapsed_us", lambda a, b: (b.t - a.t) * 1e3)
    monkeypatch.setattr(backend, "current_cuda_index", lambda: 0)


def test_cuda_activity_times_each_span_with_events(fake_gpu, tmp_path):
    assert ProfilerActivity.CUDA in supported_activities()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    with p:
        with record_function("outer"):
            torchlite.ones(2).exp()
    ev = by_name(p.events())
    # event clock: ref=1, outer start=2, exp start=3, exp end=4, outer end=5
    assert ev["Exp"].device_time_total == pytest.approx(1e3)
    assert ev["outer"].device_time_total == pytest.approx(3e3)
    assert ev["outer"].self_device_time_total == pytest.approx(2e3)
    assert ev["Exp"].device_start_us - ev["outer"].device_start_us == pytest.approx(1e3)
    assert ev["outer"].device_start_us >= 1e3
    table = p.key_averages().table(sort_by="self_cuda_time_total")
    header = table.splitlines()[1]
    for col in ("Self CUDA", "Self CUDA %", "CUDA total", "CUDA time avg"):
        assert col in header
    assert table.splitlines()[3].split()[0] == "outer"
    assert "Self CUDA time total: 3.000ms" in table
    import json

    p.export_chrome_trace(str(tmp_path / "t.json"))
    gpu = [e for e in json.loads((tmp_path / "t.json").read_text())["traceEvents"]
           if e["ph"] == "X" and e["pid"] == 0]
    assert {e["name"] for e in gpu} == {"outer", "Exp"}


def test_ops_on_the_device(device):
    x = torchlite.randn(256, 256, device=device)
    activities = CPU + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=activities) as p:
        with record_function("work"):
            (x @ x).relu().sum()
    events = p.events()
    assert len(events) >= 4 and all(e.cpu_time_total >= 0 for e in events)
    if device == "cuda":  # GPU time from CUDA events around each span
        (work,) = [e for e in events if e.name == "work"]
        assert work.device_time_total > 0 and work.device_index is not None
        assert "Self CUDA" in p.key_averages().table()


def test_reachable_as_torch_profiler_is():
    import subprocess
    import sys

    code = ("import sys, torchlite as torch\n"
            "assert 'torchlite.profiler' not in sys.modules\n"  # imported when first used
            "with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as p:\n"
            "    torch.ones(2).exp()\n"
            "print(p.events()[0].name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Exp"
