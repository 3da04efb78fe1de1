"""Traces: a profile as Trace Event JSON (what chrome://tracing, Perfetto and TensorBoard's
profiler plugin open), and `tensorboard_trace_handler`, which writes one per recorded cycle.

Every span is a complete ("X") event with `ts` and `dur` in microseconds since the profile
started (`baseTimeNanoseconds` holds the wall-clock start); spans on one thread nest. GPU time,
where measured, is a second process ("GPU n") whose spans sit on the GPU's own timeline.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["tensorboard_trace_handler", "trace_events", "write_trace"]

_CATEGORY = {"op": "cpu_op", "backward": "cpu_op", "range": "user_annotation"}


def trace_events(events: Iterable[Any], pid: int | None = None) -> list[dict]:
    """The Trace Event list for `events` (FunctionEvents): metadata, then spans by start."""
    pid = os.getpid() if pid is None else pid
    events = sorted(events, key=lambda e: (e.time_range.start, -e.time_range.end))
    out: list[dict] = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                        "args": {"name": "python"}},
                       {"ph": "M", "name": "process_labels", "pid": pid, "tid": 0,
                        "args": {"labels": "CPU"}}]
    threads = dict.fromkeys(e.thread for e in events)
    for n, tid in enumerate(threads):
        out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                    "args": {"name": f"thread {tid} (python)"}})
        out.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                    "args": {"sort_index": n}})
    gpus = dict.fromkeys(e.device_index for e in events if e.device_start_us is not None)
    for index in gpus:
        out.append({"ph": "M", "name": "process_name", "pid": index, "tid": 0,
                    "args": {"name": f"GPU {index}"}})
    for e in events:
        args: dict[str, Any] = {"External id": e.id}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.stack:
            args["Call stack"] = ";".join(e.stack)
        if e.cpu_memory_usage:
            args["Self Bytes"] = e.self_cpu_memory_usage
        out.append({"ph": "X", "cat": _CATEGORY.get(e.kind, "cpu_op"), "name": e.name,
                    "pid": pid, "tid": e.thread, "ts": round(e.time_range.start, 3),
                    "dur": round(e.cpu_time_total, 3), "args": args})
        if e.device_start_us is not None:
            out.append({"ph": "X", "cat": "gpu_op", "name": e.name, "pid": e.device_index,
                        "tid": 0, "ts": round(e.device_start_us, 3),
                        "dur": round(e.device_time_total, 3),
                        "args": {"External id": e.id, "device": e.device_index}})
    return out


def write_trace(events: Iterable[Any], path: str | os.PathLike, base_time_ns: int = 0,
                meta: dict | None = None) -> None:
    """Write `events` as a Trace Event JSON file at `path` (atomically; gzip for `.gz`)."""
    from ..serialization import atomic_write_bytes

    doc = {"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
           "baseTimeNanoseconds": base_time_ns, **(meta or {}),
           "traceEvents": trace_events(events), "traceName": os.fspath(path)}
    data = json.dumps(doc).encode("utf-8")
    if os.fspath(path).endswith(".gz"):
        data = gzip.compress(data)
    atomic_write_bytes(path, data)


def tensorboard_trace_handler(dir_name: str | os.PathLike, worker_name: str | None = None,
                              use_gzip: bool = False) -> Callable[[Any], None]:
    """An `on_trace_ready` that writes each recorded cycle's trace into `dir_name` as
    `<worker_name>.<time_ns>.pt.trace.json[.gz]` (worker_name: `<host>_<pid>`), the files
    TensorBoard's profiler plugin and Perfetto read."""
    folder = os.fspath(dir_name)

    def handler(prof: Any) -> None:
        os.makedirs(folder, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        file = f"{name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(folder, file))

    return handler
