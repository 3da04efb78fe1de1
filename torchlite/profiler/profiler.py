"""`profile`, `record_function` and `ProfilerActivity`: torch.profiler's API over the autograd
layer's recording hook (torchlite/autograd/record.py).

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(x)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

What is recorded: every op that runs through `Function.apply` (the differentiable ops and the
user's custom Functions; helpers that make no graph node, such as comparisons, are not ops
here), every backward node, `Optimizer.step`, each DataLoader batch, and `record_function`
ranges. Ops are named after their Function class (`Linear`, `Add`), backward nodes as `grad_fn`
names them (`LinearBackward0`). Differences from PyTorch: memory is the bytes of the arrays an op
returns (no allocator events), and GPU time is measured with CUDA events around each span
rather than per kernel. `with_flops` and `with_modules` are accepted and record nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from ..autograd import record as _record
from .events import EventList
from .recorder import SpanRecorder
from .scheduling import ProfilerAction, _default_schedule

__all__ = ["ProfilerActivity", "profile", "record_function", "supported_activities"]


class ProfilerActivity(Enum):
    """What to record: CPU (host-side spans) and CUDA (GPU time of each span)."""

    CPU = "CPU"
    CUDA = "CUDA"


def supported_activities() -> set[ProfilerActivity]:
    """The activities this machine can record: CPU, and CUDA where a GPU is usable."""
    from .. import backend

    out = {ProfilerActivity.CPU}
    if backend.cuda_available():
        out.add(ProfilerActivity.CUDA)
    return out


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class profile:
    """Record what runs between `start()` and `stop()` (or inside a `with` block).

    Args:
        activities: ProfilerActivity values (default: all of `supported_activities()`). CUDA on
            a machine without a usable GPU is accepted, warned about, and records no GPU time.
        schedule: from `torchlite.profiler.schedule(...)`; call `prof.step()` after each step.
            Without one, everything is recorded as one cycle.
        on_trace_ready: called with this profile at the end of each recorded cycle (for
            example `tensorboard_trace_handler(dir)`).
        record_shapes: keep the input shapes of each span.
        profile_memory: count the bytes of the arrays each span returns.
        with_stack: keep the user's Python frames that led to each span.
        acc_events: keep the events of every cycle, not only the last one.
    """

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable[[profile], Any] | None = None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, use_cuda: bool | None = None) -> None:
        chosen = supported_activities() if activities is None else set(activities)
        for a in chosen:
            if not isinstance(a, ProfilerActivity):
                raise TypeError(f"profile: activities must be ProfilerActivity values, got {a!r}")
        if use_cuda:
            chosen.add(ProfilerActivity.CUDA)
        self.activities = chosen
        cuda = ProfilerActivity.CUDA in chosen
        if cuda:
            from .. import backend

            if not backend.cuda_available():
                warnings.warn("CUDA is not available, disabling CUDA profiling", stacklevel=2)
                cuda = False
        self._cuda = cuda
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.on_trace_ready = on_trace_ready
        self.acc_events = acc_events
        self.schedule = schedule if schedule is not None else _default_schedule
        self.record_steps = schedule is not None  # ProfilerStep#N ranges, as in PyTorch
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self._recorder: SpanRecorder | None = None
        self._events: EventList | None = None
        self._step_range: record_function | None = None
        self._base: tuple[int, int] | None = None  # time zero of every cycle's spans

    # -- control -------------------------------------------------------------------------------
    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self._transit(ProfilerAction.NONE, self.current_action)
        self._enter_step()

    def stop(self) -> None:
        self._exit_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """Mark the end of a training step: the schedule moves on."""
        self._exit_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._enter_step()

    def _enter_step(self) -> None:
        if self.record_steps:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _exit_step(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def _transit(self, prev: ProfilerAction, cur: ProfilerAction | None) -> None:
        """Start, discard or finish a recording as the schedule moves from `prev` to `cur`."""
        A = ProfilerAction
        if prev in _RECORDING:
            if prev is A.RECORD and cur in _RECORDING:
                return  # the cycle goes on
            if prev is A.RECORD and cur is not None:
                warnings.warn(f"Incorrect schedule: RECORD followed by {cur.name}", stacklevel=3)
            self._finish()
        elif prev is A.WARMUP:
            if cur is A.WARMUP:
                return
            if cur is A.NONE:
                warnings.warn("Incorrect schedule: WARMUP followed by NONE", stacklevel=3)
            self._discard()  # what warmup recorded is thrown away
        if (cur is A.WARMUP or cur in _RECORDING) and self._recorder is None:
            if self._base is None:
                self._base = (time.perf_counter_ns(), time.time_ns())
            self._recorder = SpanRecorder(self.record_shapes, self.profile_memory,
                                          self.with_stack, self._cuda, self._base)
            self._recorder.start()

    def _discard(self) -> None:
        if self._recorder is not None:
            self._recorder.stop()
            self._recorder = None

    def _finish(self) -> None:
        if self._recorder is None:
            return
        events = self._recorder.stop()
        self._recorder = None
        if self.acc_events and self._events is not None:
            events = EventList(list(self._events) + list(events),
                               profile_memory=self.profile_memory,
                               base_time_ns=self._events._base_time_ns)
        self._events = events
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # -- results -------------------------------------------------------------------------------
    def events(self) -> EventList:
        """The spans of the last finished cycle (of every cycle with acc_events)."""
        if self._events is None:
            raise RuntimeError("profile: nothing recorded yet; read the results after the "
                               "`with` block, after stop(), or in on_trace_ready")
        return self._events

    def key_averages(self, group_by_input_shape: bool = False,
                     group_by_stack_n: int = 0) -> EventList:
        """The events averaged per name (and per input shapes / innermost frames if asked)."""
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path: str) -> None:
        """Write the last cycle as Trace Event JSON (chrome://tracing, Perfetto)."""
        events = self.events()
        events._trace_meta = {"record_shapes": int(self.record_shapes)}
        events.export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write one line per span with a stack, `frame;frame;...;name value`, outermost frame
        first (the input of flamegraph.pl and speedscope); needs with_stack=True."""
        from ..serialization import atomic_write_bytes

        if metric not in ("self_cpu_time_total", "self_cuda_time_total",
                          "self_device_time_total"):
            raise ValueError(f"export_stacks: metric must be self_cpu_time_total or "
                             f"self_device_time_total, got {metric!r}")
        attr = "self_cpu_time_total" if metric == "self_cpu_time_total" else \
            "self_device_time_total"
        lines = [";".join([*reversed(e.stack), e.name]) + f" {int(getattr(e, attr))}"
                 for e in self.events() if e.stack]
        atomic_write_bytes(os.fspath(path), ("\n".join(lines) + "\n").encode("utf-8"))


class record_function(contextlib.ContextDecorator):
    """A named range in the profile, as a context manager or a decorator:
    `with record_function("forward"): ...`. Costs one test when no profiler is recording."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self._open: list = []

    def __enter__(self) -> record_function:
        self._open.append(_record.recorders and _record.begin_range(self.name))
        return self

    def __exit__(self, *exc: Any) -> None:
        event = self._open.pop() if self._open else None
        if event:
            _record.end_range(event)
