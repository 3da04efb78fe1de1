"""The op-recording hook (torchlite/autograd/record.py): what a recorder sees of forward ops,
backward nodes, optimizer steps and DataLoader batches, and that it sees nothing once removed.
The capture carries what an exporter needs: each op's Function class, its input and output
tensors and its attributes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
from torchlite.autograd import record
from torchlite.utils.data import DataLoader, TensorDataset


class Log(record.Recorder):
    def __init__(self):
        self.seen: list[tuple[str, record.Event]] = []

    def begin(self, event):
        self.seen.append(("begin", event))

    def end(self, event):
        self.seen.append(("end", event))

    def ended(self, kind=None):
        return [e for what, e in self.seen if what == "end" and (kind is None or e.kind == kind)]


@pytest.fixture
def log():
    rec = Log()
    record.add_recorder(rec)
    yield rec
    record.remove_recorder(rec)
    assert rec not in record.recorders


def balanced(seen) -> bool:
    """Per thread, ends come in reverse order of begins."""
    stacks: dict = {}
    for what, e in seen:
        stack = stacks.setdefault(e.thread, [])
        if what == "begin":
            stack.append(e)
        elif not stack or stack.pop() is not e:
            return False
    return all(not s for s in stacks.values())


def test_nothing_is_registered_by_default():
    assert record.recorders == []


def test_a_forward_op_carries_its_function_tensors_and_attributes(log):
    x = torchlite.randn(4, 3, requires_grad=True)
    w = torchlite.randn(2, 3, requires_grad=True)
    y = torchlite.nn.functional.linear(x, w)
    (op,) = log.ended("op")
    assert op.name == op.fn.__name__ and issubclass(op.fn, torchlite.autograd.Function)
    assert op.inputs[0] is x and op.inputs[1] is w
    assert isinstance(op.attrs, dict)
    assert op.outputs == (y,) and y.grad_fn.fn is op.fn
    assert not op.failed and op.thread == threading.get_ident()


def test_ops_are_recorded_without_grad_too(log):
    with torchlite.no_grad():
        torchlite.randn(3) * 2
    assert [e.name for e in log.ended("op")] == ["Mul"]


def test_backward_nodes_nest_and_each_parameter_is_accumulated(log):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    loss = model(torchlite.randn(5, 3)).sum()
    n_forward = len(log.ended("op"))
    loss.backward()
    backward = log.ended("backward")
    names = [e.name for e in backward]
    assert all(e.node is not None and e.name == e.node.name() for e in backward)
    assert names[0] == loss.grad_fn.name()
    assert names.count("AccumulateGrad") == 4  # two weights, two biases
    assert len(log.ended("op")) == n_forward  # backward's raw-array formulas make no ops
    assert balanced(log.seen)


def test_a_custom_function_nests_the_ops_it_runs(log):
    class Double(torchlite.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2 + 0

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Double.apply(torchlite.randn(3, requires_grad=True))
    order = [(what, e.name) for what, e in log.seen]
    assert order == [("begin", "Double"), ("begin", "Mul"), ("end", "Mul"), ("begin", "Add"),
                     ("end", "Add"), ("end", "Double")]


def test_an_op_that_raises_ends_as_failed(log):
    class Boom(torchlite.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        Boom.apply(torchlite.randn(2))
    (op,) = log.ended("op")
    assert op.failed and op.outputs is None
    assert balanced(log.seen)


def test_optimizer_steps_are_ranges(log):
    p = nn.Parameter(torchlite.randn(3))
    opt = torchlite.optim.SGD([p], lr=0.1)
    p.sum().backward()
    opt.step()
    (step,) = log.ended("range")
    assert step.name == "Optimizer.step#SGD.step"


@pytest.mark.parametrize("workers", [0, 2])
def test_each_dataloader_batch_is_a_range_and_carries_the_batch(log, workers):
    data = TensorDataset(torchlite.arange(10.0), torchlite.arange(10))
    batches = list(DataLoader(data, batch_size=4, num_workers=workers))
    ranges = [e for e in log.ended("range") if e.name.startswith("enumerate(DataLoader)#")]
    assert len(ranges) == len(batches) + 1  # the final, empty `next` too, as in PyTorch
    assert [r.outputs for r in ranges[:-1]] == batches and ranges[-1].outputs is None
    assert balanced(log.seen)


def test_a_loader_started_before_recording_is_recorded_from_then_on():
    rec = Log()
    it = iter(DataLoader(TensorDataset(torchlite.arange(6.0)), batch_size=2))
    next(it)
    record.add_recorder(rec)
    try:
        rest = list(it)
    finally:
        record.remove_recorder(rec)
    assert len(rest) == 2 and len(rec.ended("range")) == 3


def test_a_removed_recorder_sees_nothing(log):
    record.remove_recorder(log)
    torchlite.randn(3).exp()
    assert log.seen == []


def test_values_are_unchanged_by_recording():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3)).astype(np.float32)

    def run():
        torchlite.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        loss = model(torchlite.from_numpy(x)).pow(2).mean()
        loss.backward()
        return loss.item(), [p.grad.numpy().copy() for p in model.parameters()]

    plain = run()
    rec = Log()
    record.add_recorder(rec)
    try:
        recorded = run()
    finally:
        record.remove_recorder(rec)
    assert plain[0] == recorded[0]
    assert all(np.array_equal(a, b) for a, b in zip(plain[1], recorded[1]))
