"""The op-recording hook: one registry of active recorders, told what runs as it runs.

`Function.apply` (forward ops), the backward engine (graph nodes), `Optimizer.step`, DataLoader
iteration and `torchlite.profiler.record_function` each test the module-level list `recorders`.
Empty - the usual case - that one test is all they pay. With a recorder registered, each reports
an `Event` to every recorder when it starts (`begin`) and when it ends (`end`), on the thread
that ran it; on each thread the ends come in reverse order of the begins.

The profiler is one recorder. The capture is meant to serve others too (an ONNX exporter needs,
for each forward op, its Function class, input and output tensors and attributes: an "op" Event
carries exactly these).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["Event", "Recorder", "RecordedIterator", "add_recorder", "recorders",
           "remove_recorder"]


class Recorder:
    """Base for recorders; `begin` and `end` must not raise (they run inside the user's ops)."""

    def begin(self, event: Event) -> None:
        """`event` is about to run."""

    def end(self, event: Event) -> None:
        """`event` has finished (`event.failed` when it raised); its `outputs` are set."""


# Mutated in place only (the hooks imported this very list object) and only under _lock.
recorders: list[Recorder] = []
_lock = threading.Lock()


def add_recorder(recorder: Recorder) -> None:
    """Start telling `recorder` what runs (on every thread)."""
    with _lock:
        if recorder not in recorders:
            recorders.append(recorder)


def remove_recorder(recorder: Recorder) -> None:
    """Stop telling `recorder`; events it saw begin but not end are never ended."""
    with _lock:
        if recorder in recorders:
            recorders.remove(recorder)


class Event:
    """One span of work, as recorders see it.

    kind "op": a forward op through `Function.apply`; `fn` is its Function class, `inputs` the
        positional arguments as given (Tensors and plain values), `attrs` the keyword attributes,
        `outputs` the output Tensors (None where an output is None).
    kind "backward": a graph node's backward; `node` is the node (`grad_fn`), `inputs` the
        incoming gradient arrays (None where none arrived), `outputs` the gradients it returned.
    kind "range": a named span (record_function, an optimizer step, the next DataLoader batch);
        `outputs` is what it produced, if anything (the batch).
    """

    __slots__ = ("kind", "name", "fn", "node", "inputs", "attrs", "outputs", "thread", "failed")

    def __init__(self, kind: str, name: str, fn: Any = None, node: Any = None,
                 inputs: tuple = (), attrs: dict | None = None) -> None:
        self.kind = kind
        self.name = name
        self.fn = fn
        self.node = node
        self.inputs = inputs
        self.attrs = attrs if attrs is not None else {}
        self.outputs: Any = None
        self.thread = threading.get_ident()
        self.failed = False

    def __repr__(self) -> str:
        return f"Event({self.kind}, {self.name!r})"


def _begin(event: Event) -> Event:
    for r in tuple(recorders):  # a snapshot: another thread may add or remove one meanwhile
        r.begin(event)
    return event


def _end(event: Event, outputs: Any, failed: bool = False) -> None:
    event.outputs = outputs
    event.failed = failed
    for r in reversed(tuple(recorders)):
        r.end(event)


# -- the hooks' entry points (called only after `recorders` tested non-empty) ------------------
def begin_op(fn: type, args: tuple, kwargs: dict) -> Event:
    """A forward op of Function class `fn` starts (Function.apply)."""
    return _begin(Event("op", fn.__name__, fn=fn, inputs=args, attrs=kwargs))


def end_op(event: Event, outputs: list) -> None:
    _end(event, tuple(outputs))


def fail(event: Event) -> None:
    """The span raised: it ends without outputs."""
    _end(event, None, failed=True)


def run_node(node: Any, grads: Any, call: Any, *args: Any) -> Any:
    """Run `call(*args)` as the backward of graph node `node`, which received `grads`."""
    event = _begin(Event("backward", node.name(), node=node, inputs=tuple(grads or ())))
    try:
        out = call(*args)
    except BaseException:
        fail(event)
        raise
    _end(event, out)
    return out


def begin_range(name: str, inputs: tuple = ()) -> Event:
    """A named span starts (end it with `end_range`)."""
    return _begin(Event("range", name, inputs=inputs))


def end_range(event: Event, outputs: Any = None) -> None:
    _end(event, outputs)


class RecordedIterator:
    """Iterates `it`, each `next` a range named `name` while a recorder is active (a
    DataLoader's batches: the time spent waiting for data shows in the profile)."""

    __slots__ = ("_it", "_name")

    def __init__(self, it: Iterator, name: str) -> None:
        self._it = it
        self._name = name

    def __iter__(self) -> RecordedIterator:
        return self

    def __next__(self) -> Any:
        if not recorders:
            return next(self._it)
        event = begin_range(self._name)
        try:
            item = next(self._it)
        except StopIteration:
            end_range(event)  # the last, empty `next` of an epoch counts too, as in PyTorch
            raise
        except BaseException:
            fail(event)
            raise
        end_range(event, item)
        return item
