"""When a long run is recorded: `schedule(wait, warmup, active, repeat)` and its actions."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from enum import Enum

__all__ = ["ProfilerAction", "schedule"]


class ProfilerAction(Enum):
    """What the profiler does during one step (as `torch.profiler.ProfilerAction`)."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0,
             skip_first: int = 0) -> Callable[[int], ProfilerAction]:
    """The schedule of `profile(schedule=...)`: after `skip_first` steps, cycles of `wait` idle
    steps, `warmup` steps recorded and thrown away, then `active` recorded steps, whose trace
    goes to `on_trace_ready` at the cycle's last step; `repeat` cycles (0: until the end).

    Returns a function from the step number (counted by `prof.step()`, from 0) to its action.
    """
    for name, value, low in (("wait", wait, 0), ("warmup", warmup, 0), ("active", active, 1),
                             ("repeat", repeat, 0), ("skip_first", skip_first, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"schedule: {name} must be an integer >= {low}, got {value!r}")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)
    cycle = wait + warmup + active

    def action(step: int) -> ProfilerAction:
        if step < 0:
            raise ValueError(f"schedule: the step number must be >= 0, got {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


def _default_schedule(step: int) -> ProfilerAction:
    """Without a schedule everything between start and stop is recorded."""
    return ProfilerAction.RECORD
