"""GradScaler: loss scaling for float16 training, as `torch.amp.GradScaler`."""

from __future__ import annotations

import enum
import warnings
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor


class _Stage(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


class GradScaler:
    """Multiply the loss by a scale so that float16 gradients do not underflow, then unscale
    the gradients before the optimizer steps, skipping the step when any is inf or NaN.

    update(): after a skipped step, scale *= backoff_factor; after `growth_interval` steps in a
    row without inf/NaN, scale *= growth_factor. The scale and the growth tracker are float32
    and int32 arrays on the device, as PyTorch's, so the sequence of scales is the same.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = str(device)
        self._enabled = bool(enabled)
        if self._enabled and self._device.startswith("cuda") and not backend.cuda_available():
            warnings.warn("torchlite.amp.GradScaler is enabled, but CUDA is not available. "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        self._init_scale = init_scale
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._scale: Any = None  # float32 array of shape (1,), made on first use
        self._growth_tracker: Any = None
        self._per_optimizer: dict[int, dict[str, Any]] = {}

    # -- scaling -----------------------------------------------------------------------------
    def _lazy_init(self, dev: backend.device) -> None:
        xp = backend.xp_for(dev)
        self._scale = xp.full((1,), self._init_scale, dtype=np.float32)
        self._growth_tracker = xp.full((1,), self._init_growth_tracker, dtype=np.int32)

    def scale(self, outputs: Any) -> Any:
        """`outputs` (a tensor, or a list/tuple of them, nested) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init(outputs._device)
            s = Tensor._make(backend.move(self._scale, outputs._device), outputs._device)
            with np.errstate(over="ignore"):  # an inf here is what step() looks for, unsaid
                return outputs * s.reshape(())
        if isinstance(outputs, (list, tuple)):
            scaled = [self.scale(o) for o in outputs]
            return type(outputs)(scaled) if isinstance(outputs, tuple) else scaled
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _state(self, optimizer) -> dict[str, Any]:
        return self._per_optimizer.setdefault(
            id(optimizer), {"stage": _Stage.READY, "found_inf": None})

    def unscale_(self, optimizer) -> None:
        """Divide `optimizer`'s gradients by the scale, in place, noting any inf/NaN (call it
        before clipping gradients; `step` calls it when it has not been called)."""
        if not self._enabled:
            return
        self._check_scale_initialized("unscale_")
        st = self._state(optimizer)
        if st["stage"] is _Stage.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if st["stage"] is _Stage.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal in float64, rounded to float32, as PyTorch
        inv = (1.0 / self._scale.astype(np.float64)).astype(np.float32)
        found = None
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g._data.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                xp = backend.get_xp(g._data)
                arr = g._data
                bad = _non_finite(xp, arr)
                found = bad if found is None else found | bad
                xp.multiply(arr, backend.move(inv, g._device).astype(arr.dtype), out=arr)
        if found is None:
            found = np.zeros((), dtype=bool)
        st["found_inf"] = found
        st["stage"] = _Stage.UNSCALED

    def step(self, optimizer, *args: Any, **kwargs: Any) -> Any:
        """Unscale (if not done yet), then `optimizer.step()` unless a gradient was inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_initialized("step")
        st = self._state(optimizer)
        if st["stage"] is _Stage.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] is _Stage.READY:
            self.unscale_(optimizer)
        retval = None
        if not bool(st["found_inf"]):  # one sync per step, as PyTorch's
            retval = optimizer.step(*args, **kwargs)
        st["stage"] = _Stage.STEPPED
        return retval

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Back off after a skipped step, grow after `growth_interval` clean ones; or set
        `new_scale`. Ends the iteration: every optimizer may unscale and step again."""
        if not self._enabled:
            return
        self._check_scale_initialized("update")
        if new_scale is not None:
            value = new_scale._data if isinstance(new_scale, Tensor) else new_scale
            xp = backend.get_xp(self._scale)
            self._scale[...] = xp.asarray(value, dtype=np.float32).reshape(-1)[:1] \
                if isinstance(new_scale, Tensor) else np.float32(value)
        else:
            founds = [st["found_inf"] for st in self._per_optimizer.values()
                      if st["found_inf"] is not None]
            if not founds:
                raise AssertionError("No inf checks were recorded prior to update.")
            s, tracker = self._scale, self._growth_tracker
            xp = backend.get_xp(s)
            if xp is np:  # on the host: the same arithmetic on scalars (60 -> 5 us a step)
                self._update_host(any(bool(np.asarray(f).any()) for f in founds))
                self._per_optimizer.clear()
                return
            found = xp.zeros((), dtype=bool)
            for f in founds:
                found = found | backend.move(xp.asarray(f) if xp is np else f,
                                             backend.array_device(s))
            # PyTorch's _amp_update_scale_, on the device (no sync): back off on inf/NaN, grow
            # after growth_interval clean steps unless growing overflows
            successful = tracker + 1
            grow = ~found & (successful == self._growth_interval)
            with np.errstate(over="ignore"):  # an overflowing growth is expected: kept below
                grown = s * np.float32(self._growth_factor)
            s[...] = xp.where(found, s * np.float32(self._backoff_factor),
                              xp.where(grow & xp.isfinite(grown), grown, s))
            tracker[...] = xp.where(found | grow, 0, successful)
        self._per_optimizer.clear()

    def _update_host(self, found: bool) -> None:
        """`update`'s rule for NumPy arrays: the float32 products and int32 count, as scalars."""
        s, tracker = self._scale, self._growth_tracker
        if found:
            s[0] = s[0] * np.float32(self._backoff_factor)
            tracker[0] = 0
            return
        successful = tracker[0] + 1
        if successful == self._growth_interval:
            with np.errstate(over="ignore"):  # an overflowing growth is expected: kept below
                grown = s[0] * np.float32(self._growth_factor)
            if np.isfinite(grown):
                s[0] = grown
            tracker[0] = 0
        else:
            tracker[0] = successful

    def _check_scale_initialized(self, fn: str) -> None:
        if self._scale is None:
            raise AssertionError(f"Attempted {fn} but _scale is None. This may indicate your "
                                 "script did not use scaler.scale(loss or outputs) earlier in "
                                 "the iteration.")

    # -- accessors ---------------------------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        if self._scale is None:
            return float(self._init_scale)
        return float(backend.to_host(self._scale)[0])

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return int(backend.to_host(self._growth_tracker)[0])

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """scale, growth_factor, backoff_factor, growth_interval and _growth_tracker (empty
        when disabled), as PyTorch's."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale[...] = np.float32(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker[...] = state_dict["_growth_tracker"]


def _non_finite(xp, arr):
    """Whether `arr` holds an inf or NaN, as a 0-d bool array (on the GPU, without a sync).
    On the CPU one sum decides nearly always: it is finite only if every element is (an inf or
    NaN makes it inf or NaN), and only a sum that overflowed from finite values needs the
    elementwise test, which allocates a mask and reads twice."""
    if xp is np and arr.size:
        if np.isfinite(arr.sum()):
            return np.zeros((), dtype=bool)
        return ~np.isfinite(arr).all()
    return ~xp.isfinite(arr).all()
