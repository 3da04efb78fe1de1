"""The profiler's recorder: turns the autograd layer's begin/end events into FunctionEvents.

One SpanRecorder records one cycle (from a profile's start, or a schedule's recording phase, to
its stop). It keeps a stack of open spans per thread, so that spans nest under the span that
was open on their thread when they began (a backward node under `loss.backward()`'s enclosing
range, the ops of a custom Function under it).
"""

from __future__ import annotations

import itertools
import os
import sys
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
    frames: list[str] = []
    f: Any = sys._getframe(1)
    while f is not None and len(frames) < _STACK_DEPTH:
        path = f.f_code.co_filename
        if not path.startswith(_LIBRARY):
            frames.append(f"{path}({f.f_lineno}): {f.f_code.co_name}")
        f = f.f_back
    return frames


class SpanRecorder(record.Recorder):
    """Collects the spans of one cycle. `cuda`: time each span with CUDA events too.

    A thread's stack holds, per open span, [event, span, ids of the arrays its children made,
    CUDA start event]. Clock readings stay integer nanoseconds until `stop` converts them.
    """

    def __init__(self, record_shapes: bool, profile_memory: bool, with_stack: bool,
                 cuda: bool, base: tuple[int, int] | None = None) -> None:
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.cuda = cuda
        self.spans: list[FunctionEvent] = []
        self._ids = itertools.count()  # next() on it is atomic: threads need no lock
        self._stacks: dict[int, list[list]] = {}
        self._cuda_pairs: list[tuple[FunctionEvent, Any, Any]] = []
        self._cuda_ref: Any = None
        self._cuda_ref_us = 0.0
        # (perf_counter_ns, time_ns) of time zero: a profile's cycles share one timeline
        self._base, self.base_time_ns = base or (time.perf_counter_ns(), time.time_ns())

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.cuda:
            from .. import backend

            self._cuda_ref = backend.cuda_event_record()
            self._cuda_ref_us = (time.perf_counter_ns() - self._base) / 1e3
        record.add_recorder(self)

    def stop(self) -> EventList:
        """Stop recording; spans still open (a range the stop fell inside) end now."""
        record.remove_recorder(self)
        now = time.perf_counter_ns()
        for stack in self._stacks.values():
            for entry in stack:
                entry[1]._t1 = now
        self._stacks.clear()
        base = self._base
        for span in self.spans:
            span.start_us = (span._t0 - base) / 1e3
            span.end_us = (span._t1 - base) / 1e3
        if self._cuda_pairs:
            self._resolve_cuda()
        return EventList(self.spans, profile_memory=self.profile_memory,
                         base_time_ns=self.base_time_ns)

    # -- the hook ----------------------------------------------------------------------------
    def begin(self, event: record.Event) -> None:
        tid = event.thread
        stack = self._stacks.get(tid)
        if stack is None:
            stack = self._stacks.setdefault(tid, [])
        span = FunctionEvent(next(self._ids), event.name, event.kind, tid,
                             [_shape_of(x) for x in event.inputs] if self.record_shapes else None,
                             _user_stack() if self.with_stack else None)
        self.spans.append(span)
        if stack:
            parent = stack[-1][1]
            span.cpu_parent = parent
            parent.cpu_children.append(span)
        entry = [event, span, None, None]
        stack.append(entry)
        if self.cuda:
            from .. import backend

            entry[3] = backend.cuda_event_record()
        span._t0 = time.perf_counter_ns()

    def end(self, event: record.Event) -> None:
        now = time.perf_counter_ns()
        stack = self._stacks.get(event.thread)
        if not stack:
            return  # it began before this recorder started
        if stack[-1][0] is event:
            entry = stack.pop()
        else:  # spans above it never ended (a hook that raised): they end with it
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] is event:
                    break
            else:
                return
            for above in stack[i + 1:]:
                above[1]._t1 = now
            entry = stack[i]
            del stack[i:]
        span = entry[1]
        span._t1 = now
        if self.cuda:
            from .. import backend

            self._cuda_pairs.append((span, entry[3], backend.cuda_event_record()))
        if self.profile_memory:
            self._count_memory(entry, event, stack[-1] if stack else None)

    def _count_memory(self, entry: list, event: record.Event, parent: list | None) -> None:
        """Bytes of the arrays this span made: its outputs that own their memory (a view or an
        input handed back allocates nothing) and that no child made already."""
        outputs = _arrays(event.outputs, [])
        inputs = {id(a) for a in _arrays(event.inputs, [])}
        seen = entry[2] or set()
        own = 0
        for a in outputs:
            if id(a) in seen or id(a) in inputs or getattr(a, "base", None) is not None:
                continue
            own += int(a.nbytes)
        span = entry[1]
        span.cpu_memory_usage = own + sum(c.cpu_memory_usage for c in span.cpu_children)
        if parent is not None:
            if parent[2] is None:
                parent[2] = set()
            parent[2].update(id(a) for a in outputs)
            parent[2] |= seen

    def _resolve_cuda(self) -> None:
        """GPU microseconds of each span, and where on the GPU's timeline it began."""
        from .. import backend

        ref = self._cuda_ref
        index = backend.current_cuda_index()
        for span, start, end in self._cuda_pairs:
            span.device_time_total = backend.cuda_event_elapsed_us(start, end)
            span.device_index = index
            if ref is not None:  # the GPU clock, aligned with the CPU's at the reference event
                span.device_start_us = self._cuda_ref_us + backend.cuda_event_elapsed_us(ref,
                                                                                         start)
        self._cuda_pairs.clear()
