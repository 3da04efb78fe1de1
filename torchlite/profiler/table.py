"""`EventList.table()`: the text table, laid out as PyTorch's profiler lays it out (the same
columns, units and footer), so that people read it as they read PyTorch's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SORT_KEYS", "build_table", "format_memory", "format_time"]

COLUMN = 12  # the width of every numeric column
GAP = 2  # spaces after each column
DEVICE = "CUDA"

# what `sort_by` accepts: the attribute of an event, under its PyTorch names
SORT_KEYS = {
    "cpu_time": "cpu_time", "cpu_time_total": "cpu_time_total",
    "self_cpu_time_total": "self_cpu_time_total",
    "device_time": "device_time", "device_time_total": "device_time_total",
    "self_device_time_total": "self_device_time_total",
    "cuda_time": "device_time", "cuda_time_total": "device_time_total",
    "self_cuda_time_total": "self_device_time_total",
    "cpu_memory_usage": "cpu_memory_usage", "self_cpu_memory_usage": "self_cpu_memory_usage",
    "count": "count",
}


def format_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def format_share(us: float, total: float) -> str:
    return "NaN" if total == 0 else f"{us * 100.0 / total:.2f}%"


def format_memory(nbytes: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _clip_path(text: str, width: int) -> str:
    """The end of a long source location, which holds the file name and line."""
    if len(text) <= width:
        return text
    return "..." + text[len(text) - width + 3:]


def build_table(events: Sequence[Any], *, sort_by: str | None = None, row_limit: int = 100,
                max_src_column_width: int = 75, max_name_column_width: int = 55,
                max_shapes_column_width: int = 80, header: str | None = None,
                top_level_events_only: bool = False, profile_memory: bool = False) -> str:
    if not events:
        return ""
    if sort_by is not None:
        attr = SORT_KEYS.get(sort_by)
        if attr is None:
            raise ValueError(f"table: sort_by must be one of {', '.join(SORT_KEYS)}; got "
                             f"{sort_by!r}")
        events = sorted(events, key=lambda e: getattr(e, attr), reverse=True)
    has_device = any(e.self_device_time_total > 0 for e in events)
    has_shapes = any(e.input_shapes for e in events)
    stacks = [e.stack for e in events if e.stack]

    name_width = min(max(len(e.key) for e in events) + 4, max_name_column_width)
    columns: list[tuple[str, int, str]] = [("Name", name_width, ">")]
    numeric = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if has_device:
        numeric += [f"Self {DEVICE}", f"Self {DEVICE} %", f"{DEVICE} total",
                    f"{DEVICE} time avg"]
    if profile_memory:
        numeric += ["CPU Mem", "Self CPU Mem"]
    numeric.append("# of Calls")
    columns += [(h, COLUMN, ">") for h in numeric]
    if has_shapes:
        width = min(max(len(str(e.input_shapes)) for e in events) + 4, max_shapes_column_width)
        columns.append(("Input Shapes", width, ">"))
    src_width = 0
    if stacks:
        src_width = min(max(len(s) for st in stacks for s in st) + 4, max_src_column_width)
        columns.append(("Source Location", src_width, "<"))

    def row(values: Sequence[Any]) -> str:
        return "".join(f"{str(v):{align}{width}}" + " " * GAP
                       for v, (_, width, align) in zip(values, columns))

    rule = "".join("-" * width + " " * GAP for _, width, _ in columns)
    total_self_cpu = sum(e.self_cpu_time_total for e in events)
    total_self_device = sum(e.self_device_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * (len(rule) - GAP), header]
    if top_level_events_only:
        lines += ["=" * (len(rule) - GAP), "This report only display top-level ops statistics"]
    lines += [rule, row([c[0] for c in columns]), rule]

    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and getattr(e, "cpu_parent", None) is not None:
            continue
        shown += 1
        name = e.key
        if len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        values: list[Any] = [
            name, format_share(e.self_cpu_time_total, total_self_cpu),
            format_time(e.self_cpu_time_total), format_share(e.cpu_time_total, total_self_cpu),
            format_time(e.cpu_time_total), format_time(e.cpu_time)]
        if has_device:
            values += [format_time(e.self_device_time_total),
                       format_share(e.self_device_time_total, total_self_device),
                       format_time(e.device_time_total), format_time(e.device_time)]
        if profile_memory:
            values += [format_memory(e.cpu_memory_usage), format_memory(e.self_cpu_memory_usage)]
        values.append(e.count)
        if has_shapes:
            values.append(str(e.input_shapes)[:columns[-2 if stacks else -1][1]])
        if stacks:
            values.append(_clip_path(e.stack[0], src_width) if e.stack else "")
        lines.append(row(values))
        for frame in e.stack[1:] if stacks else ():  # the outer frames, one line each
            lines.append(row([""] * (len(columns) - 1) + [_clip_path(frame, src_width)]))
    lines += [rule, f"Self CPU time total: {format_time(total_self_cpu)}"]
    if has_device:
        lines.append(f"Self {DEVICE} time total: {format_time(total_self_device)}")
    return "\n".join(lines) + "\n"
