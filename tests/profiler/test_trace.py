"""Traces: export_chrome_trace writes valid Trace Event JSON whose spans nest per thread and
name the ops; tensorboard_trace_handler writes one `*.pt.trace.json` per recorded cycle."""

from __future__ import annotations

import gzip
import json
import os

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.profiler import (
    ProfilerActivity,
    profile,
    record_function,
    schedule,
    tensorboard_trace_handler,
)

CPU = [ProfilerActivity.CPU]


def step(model, opt):
    with record_function("train_step"):
        with record_function("forward"):
            loss = F.cross_entropy(model(torchlite.randn(4, 8)), torchlite.randint(0, 3, (4,)))
        opt.zero_grad()
        loss.backward()
        opt.step()


def profiled(**kw):
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = torchlite.optim.Adam(model.parameters())
    with profile(activities=CPU, **kw) as p:
        step(model, opt)
    return p


def spans(doc: dict) -> list[dict]:
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def check_nesting(events: list[dict]) -> None:
    """On each thread, two spans are disjoint or one holds the other."""
    eps = 1e-3  # the JSON rounds to nanoseconds
    by_thread: dict = {}
    for e in events:
        by_thread.setdefault((e["pid"], e["tid"]), []).append(e)
    for group in by_thread.values():
        open_: list[dict] = []
        for e in sorted(group, key=lambda e: (e["ts"], -e["dur"])):
            while open_ and open_[-1]["ts"] + open_[-1]["dur"] <= e["ts"] + eps:
                open_.pop()
            if open_:
                parent = open_[-1]
                assert e["ts"] + e["dur"] <= parent["ts"] + parent["dur"] + eps, (e, parent)
            open_.append(e)


def test_chrome_trace_is_valid_trace_event_json(tmp_path):
    p = profiled(record_shapes=True, with_stack=True)
    path = tmp_path / "trace.json"
    p.export_chrome_trace(str(path))
    doc = json.loads(path.read_text())
    assert isinstance(doc["traceEvents"], list) and doc["displayTimeUnit"] == "ms"
    xs = spans(doc)
    assert len(xs) == len(p.events())
    for e in xs:
        assert {"name", "ph", "ts", "dur", "pid", "tid", "cat", "args"} <= set(e)
        assert isinstance(e["ts"], (int, float)) and e["dur"] >= 0
        assert e["pid"] == os.getpid()
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    assert {e["name"] for e in meta} >= {"process_name", "thread_name"}
    names = {e["name"] for e in xs}
    assert {"train_step", "forward", "Optimizer.step#Adam.step", "AccumulateGrad"} <= names
    assert any(n.endswith("Backward0") for n in names)
    for e in p.events():  # every op and backward node is there, by name
        assert e.name in names
    cats = {e["name"]: e["cat"] for e in xs}
    assert cats["train_step"] == "user_annotation" and cats["AccumulateGrad"] == "cpu_op"
    shaped = [e for e in xs if "Input Dims" in e["args"]]
    assert shaped and all("Call stack" in e["args"] for e in xs)


def test_ranges_nest_in_the_trace(tmp_path):
    p = profiled()
    p.export_chrome_trace(str(tmp_path / "t.json"))
    xs = spans(json.loads((tmp_path / "t.json").read_text()))
    check_nesting(xs)
    by = {e["name"]: e for e in xs}
    outer, inner = by["train_step"], by["forward"]
    assert outer["ts"] <= inner["ts"]
    assert inner["ts"] + inner["dur"] <= outer["ts"] + outer["dur"] + 1e-3
    # the forward ops lie inside "forward", the optimizer step outside it but inside train_step
    linear = [e for e in xs if e["name"].startswith("Linear") and "Backward" not in e["name"]]
    assert linear and all(inner["ts"] <= e["ts"] <= inner["ts"] + inner["dur"] for e in linear)
    opt = by["Optimizer.step#Adam.step"]
    assert opt["ts"] >= inner["ts"] + inner["dur"] - 1e-3


def test_gzip_trace(tmp_path):
    path = tmp_path / "trace.json.gz"
    profiled().export_chrome_trace(str(path))
    doc = json.loads(gzip.decompress(path.read_bytes()))
    assert spans(doc)


def test_tensorboard_trace_handler_writes_one_trace_per_cycle(tmp_path):
    model = nn.Sequential(nn.Linear(8, 3))
    opt = torchlite.optim.SGD(model.parameters(), lr=0.1)
    out = tmp_path / "prof"
    with profile(activities=CPU, schedule=schedule(wait=1, warmup=1, active=1, repeat=2),
                 on_trace_ready=tensorboard_trace_handler(str(out), worker_name="w0")) as p:
        for _ in range(7):
            step(model, opt)
            p.step()
    files = sorted(os.listdir(out))
    assert len(files) == 2
    for name in files:
        assert name.startswith("w0.") and name.endswith(".pt.trace.json")
        xs = spans(json.loads((out / name).read_text()))
        assert sum(e["name"].startswith("ProfilerStep#") for e in xs) == 1
        check_nesting(xs)


def test_tensorboard_trace_handler_defaults(tmp_path):
    handler = tensorboard_trace_handler(tmp_path / "tb", use_gzip=True)
    p = profiled()
    handler(p)
    (name,) = os.listdir(tmp_path / "tb")
    assert name.endswith(".pt.trace.json.gz") and f"_{os.getpid()}." in name


def test_export_stacks(tmp_path):
    p = profiled(with_stack=True)
    p.export_stacks(str(tmp_path / "stacks.txt"))
    lines = (tmp_path / "stacks.txt").read_text().splitlines()
    assert lines and all(line.rsplit(" ", 1)[1].lstrip("-").isdigit() for line in lines)
    assert any("test_trace.py(" in line and ";train_step " in line for line in lines)
