"""The profiler's recorder: turns the autograd layer's begin/end events into FunctionEvents.

One SpanRecorder records one cycle (from a profile's start, or a schedule's recording phase, to
its stop). It keeps a stack of open spans per thread, so that spans nest under the span that
was open on their thread when they began (a backward node under `loss.backward()`'s enclosing
range, the ops of a custom Function under it).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from ..autograd import record
from .events import EventList, FunctionEvent

# frames in these folders are torchlite's own; with_stack shows the user's frames above them
_LIBRARY = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_STACK_DEPTH = 5  # user frames kept per span (innermost first)


def _shape_of(x: Any) -> list[int]:
    shape = getattr(x, "shape", None)
    if shape is None or isinstance(x, (int, float, complex, bool)):
        return []  # a plain value: PyTorch shows an empty list for non-tensor arguments
    return [int(d) for d in shape]


def _arrays(obj: Any, out: list) -> list:
    """The arrays in a (nested) tuple, list or dict of Tensors and arrays."""
    if obj is None:
        return out
    data = getattr(obj, "_data", None)
    if data is not None:
        out.append(data)
    elif hasattr(obj, "nbytes") and hasattr(obj, "shape"):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _arrays(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _arrays(o, out)
    return out


def _user_stack() -> list[str]:
    frames = []
    f: Any = sys._getframe(1)
    while f is not None and len(frames) < _STACK_DEPTH:
        path = f.f_code.co_filename
        if not path.startswith(_LIBRARY):
            frames.append(f"{path}({f.f_lineno}): {f.f_code.co_name}")
        f = f.f_back
    return frames


class _Open:
    """A span on a thread's stack: its event, and the arrays its children produced (so that
    an output a child made is not counted twice)."""

    __slots__ = ("event", "span", "child_arrays", "cuda_start")

    def __init__(self, event: record.Event, span: FunctionEvent) -> None:
        self.event = event
        self.span = span
        self.child_arrays: set[int] | None = None
        self.cuda_start: Any = None


class SpanRecorder(record.Recorder):
    """Collects the spans of one cycle. `cuda`: time each span with CUDA events too."""

    def __init__(self, record_shapes: bool, profile_memory: bool, with_stack: bool,
                 cuda: bool) -> None:
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.cuda = cuda
        self.spans: list[FunctionEvent] = []
        self._stacks: dict[int, list[_Open]] = {}
        self._lock = threading.Lock()
        self._cuda_pairs: list[tuple[FunctionEvent, Any, Any]] = []
        self._cuda_ref: Any = None
        self.base_time_ns = time.time_ns()
        self._base = time.perf_counter_ns()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.cuda:
            from .. import backend

            self._cuda_ref = backend.cuda_event_record()
        self.base_time_ns = time.time_ns()
        self._base = time.perf_counter_ns()
        record.add_recorder(self)

    def stop(self) -> EventList:
        """Stop recording; spans still open (a range the stop fell inside) end now."""
        record.remove_recorder(self)
        now = self._us(time.perf_counter_ns())
        for stack in self._stacks.values():
            for entry in stack:
                entry.span.time_range.end = now
        self._stacks.clear()
        if self._cuda_pairs:
            self._resolve_cuda()
        return EventList(self.spans, profile_memory=self.profile_memory,
                         base_time_ns=self.base_time_ns)

    def _us(self, ns: int) -> float:
        return (ns - self._base) / 1e3

    # -- the hook ----------------------------------------------------------------------------
    def begin(self, event: record.Event) -> None:
        shapes = None
        if self.record_shapes:
            shapes = [_shape_of(x) for x in event.inputs]
        stack = _user_stack() if self.with_stack else None
        tid = event.thread
        open_stack = self._stacks.get(tid)
        if open_stack is None:
            open_stack = self._stacks.setdefault(tid, [])
        with self._lock:
            span = FunctionEvent(len(self.spans), event.name, event.kind, tid, 0.0, shapes,
                                 stack)
            self.spans.append(span)
        if open_stack:
            parent = open_stack[-1].span
            span.cpu_parent = parent
            parent.cpu_children.append(span)
        entry = _Open(event, span)
        open_stack.append(entry)
        if self.cuda:
            from .. import backend

            entry.cuda_start = backend.cuda_event_record()
        span.time_range.start = span.time_range.end = self._us(time.perf_counter_ns())

    def end(self, event: record.Event) -> None:
        now = self._us(time.perf_counter_ns())
        open_stack = self._stacks.get(event.thread)
        if not open_stack:
            return  # it began before this recorder started
        for i in range(len(open_stack) - 1, -1, -1):
            if open_stack[i].event is event:
                break
        else:
            return
        for entry in open_stack[i:]:
            entry.span.time_range.end = now
        entry = open_stack[i]
        del open_stack[i:]
        if self.cuda:
            from .. import backend

            self._cuda_pairs.append((entry.span, entry.cuda_start, backend.cuda_event_record()))
        if self.profile_memory:
            self._count_memory(entry, event, open_stack[-1] if open_stack else None)

    def _count_memory(self, entry: _Open, event: record.Event, parent: _Open | None) -> None:
        """Bytes of the arrays this span made: its outputs that own their memory (a view or an
        input handed back allocates nothing) and that no child made already."""
        outputs = _arrays(event.outputs, [])
        inputs = {id(a) for a in _arrays(event.inputs, [])}
        seen = entry.child_arrays or set()
        own = 0
        for a in outputs:
            if id(a) in seen or id(a) in inputs or getattr(a, "base", None) is not None:
                continue
            own += int(a.nbytes)
        span = entry.span
        span.cpu_memory_usage = own + sum(c.cpu_memory_usage for c in span.cpu_children)
        if parent is not None:
            if parent.child_arrays is None:
                parent.child_arrays = set()
            parent.child_arrays.update(id(a) for a in outputs)
            parent.child_arrays |= seen

    def _resolve_cuda(self) -> None:
        """GPU microseconds of each span, and where on the GPU's timeline it began."""
        from .. import backend

        ref = self._cuda_ref
        index = backend.current_cuda_index()
        for span, start, end in self._cuda_pairs:
            span.device_time_total = backend.cuda_event_elapsed_us(start, end)
            span.device_index = index
            if ref is not None:
                span.device_start_us = backend.cuda_event_elapsed_us(ref, start)
        self._cuda_pairs.clear()
