"""What a profile holds: one FunctionEvent per recorded span, their averages per key, and the
EventList that tabulates them (`table`) and writes them as a trace (`export_chrome_trace`).

Times are microseconds (floats), memory is bytes, as in PyTorch. "Self" means less the
children: the spans that ran inside this one, on the same thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]


@dataclass
class Interval:
    """A span's start and end in microseconds since the profile started."""

    start: float
    end: float

    def elapsed_us(self) -> float:
        return self.end - self.start


class FunctionEvent:
    """One recorded span: a forward op, a backward node, an optimizer step, a DataLoader batch
    or a `record_function` range.

    Attributes: `name`, `kind` ("op", "backward" or "range"), `thread`, `time_range`,
    `input_shapes` (with record_shapes), `stack` (with with_stack: the user's frames, innermost
    first, as "file(line): function"), `cpu_memory_usage` (bytes of the arrays it and its
    children produced, with profile_memory), `device_time_total` (GPU microseconds between CUDA
    events around it, on a GPU), `cpu_parent` and `cpu_children`.
    """

    __slots__ = ("id", "name", "kind", "thread", "start_us", "end_us", "input_shapes", "stack",
                 "cpu_memory_usage", "device_time_total", "device_index", "device_start_us",
                 "cpu_parent", "cpu_children", "count", "_t0", "_t1")

    def __init__(self, id: int, name: str, kind: str, thread: int,
                 input_shapes: list | None = None, stack: list[str] | None = None) -> None:
        self.id = id
        self.name = name
        self.kind = kind
        self.thread = thread
        self.start_us = self.end_us = 0.0  # since the profile started
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.cpu_memory_usage = 0
        self.device_time_total = 0.0
        self.device_index: int | None = None
        self.device_start_us: float | None = None  # on the GPU's timeline, for the trace
        self.cpu_parent: FunctionEvent | None = None
        self.cpu_children: list[FunctionEvent] = []
        self.count = 1
        self._t0 = self._t1 = 0  # perf_counter_ns while recording

    @property
    def time_range(self) -> Interval:
        return Interval(self.start_us, self.end_us)

    @property
    def key(self) -> str:
        return self.name

    @property
    def is_user_annotation(self) -> bool:
        return self.kind == "range"

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self) -> int:
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def self_device_time_total(self) -> float:
        return max(0.0, self.device_time_total - sum(c.device_time_total
                                                     for c in self.cpu_children))

    @property
    def device_time(self) -> float:
        return self.device_time_total

    # PyTorch's older names for the device times
    @property
    def cuda_time_total(self) -> float:
        return self.device_time_total

    @property
    def self_cuda_time_total(self) -> float:
        return self.self_device_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={self.cpu_time_total:.3f}"
                f"us self_cpu_time={self.self_cpu_time_total:.3f}us input_shapes="
                f"{self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>")


class FunctionEventAvg:
    """The events of one key summed: `count` calls, totals, and per-call averages
    (`cpu_time`, `device_time`)."""

    def __init__(self, key: str, input_shapes: list | None = None,
                 stack: list[str] | None = None) -> None:
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.device_time_total = 0.0
        self.self_device_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.is_user_annotation = False

    def add(self, e: FunctionEvent | FunctionEventAvg) -> FunctionEventAvg:
        self.count += e.count
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total
        self.device_time_total += e.device_time_total
        self.self_device_time_total += e.self_device_time_total
        self.cpu_memory_usage += e.cpu_memory_usage
        self.self_cpu_memory_usage += e.self_cpu_memory_usage
        self.is_user_annotation = e.is_user_annotation
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    @property
    def device_time(self) -> float:
        return self.device_time_total / self.count if self.count else 0.0

    # PyTorch's older names for the device times
    @property
    def cuda_time(self) -> float:
        return self.device_time

    @property
    def cuda_time_total(self) -> float:
        return self.device_time_total

    @property
    def self_cuda_time_total(self) -> float:
        return self.self_device_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}us "
                f"cpu_time={self.cpu_time:.3f}us input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage}>")


class EventList(list):
    """A list of FunctionEvents (or, from `key_averages`, of FunctionEventAvgs)."""

    def __init__(self, events: Any = (), *, profile_memory: bool = False,
                 base_time_ns: int = 0, trace_meta: dict | None = None) -> None:
        super().__init__(events)
        self._profile_memory = profile_memory
        self._base_time_ns = base_time_ns
        self._trace_meta = trace_meta or {}

    def _like(self, events: Any) -> EventList:
        return EventList(events, profile_memory=self._profile_memory,
                         base_time_ns=self._base_time_ns, trace_meta=self._trace_meta)

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False,
                     group_by_stack_n: int = 0) -> EventList:
        """One FunctionEventAvg per name (and per input shapes, and per innermost
        `group_by_stack_n` stack frames, when asked), in order of first appearance."""
        groups: dict[tuple, FunctionEventAvg] = {}
        for e in self:
            key: tuple = (e.key,)
            if group_by_input_shape:
                key += (str(e.input_shapes),)
            if group_by_stack_n > 0:
                key += tuple(e.stack[:group_by_stack_n])
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(
                    e.key, e.input_shapes if group_by_input_shape else None,
                    e.stack[:group_by_stack_n] if group_by_stack_n > 0 else None)
            avg.add(e)
        return self._like(groups.values())

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        """The events as PyTorch's text table: one row per event (per key after
        `key_averages()`), sorted by `sort_by` (largest first), at most `row_limit` rows."""
        from .table import build_table

        return build_table(self, sort_by=sort_by, row_limit=row_limit,
                           max_src_column_width=max_src_column_width,
                           max_name_column_width=max_name_column_width,
                           max_shapes_column_width=max_shapes_column_width, header=header,
                           top_level_events_only=top_level_events_only,
                           profile_memory=self._profile_memory)

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Trace Event JSON (chrome://tracing, Perfetto); a path ending in
        `.gz` is gzip-compressed."""
        from .trace import write_trace

        write_trace(self, path, self._base_time_ns, self._trace_meta)
