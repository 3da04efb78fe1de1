"""What ran and how long it took, with torch.profiler's API.

    from torchlite.profiler import profile, record_function, ProfilerActivity, schedule

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                 profile_memory=True) as prof:
        with record_function("train_step"):
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
    prof.export_chrome_trace("trace.json")   # chrome://tracing or ui.perfetto.dev

For long runs, `schedule(wait=1, warmup=1, active=3)` with `prof.step()` after each step
records a few steps per cycle, and `on_trace_ready=tensorboard_trace_handler("runs/prof")`
writes each cycle's trace. Recording comes from one hook in the autograd layer
(torchlite.autograd.record); while no profiler records, the hook costs one test per op.
"""

from __future__ import annotations

from .events import EventList, FunctionEvent, FunctionEventAvg
from .profiler import ProfilerActivity, profile, record_function, supported_activities
from .scheduling import ProfilerAction, schedule
from .trace import tensorboard_trace_handler

__all__ = [
    "EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction", "ProfilerActivity",
    "profile", "record_function", "schedule", "supported_activities",
    "tensorboard_trace_handler",
]
