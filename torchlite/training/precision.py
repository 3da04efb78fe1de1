"""`trainer.precision`: how a run computes, with Lightning's names.

    32          float32 everywhere (the default)
    64          float64 weights and inputs
    16-mixed    float32 master weights; the forward and the loss under autocast(float16); the
                loss scaled by a GradScaler so that float16 gradients do not underflow
    bf16-mixed  the same with bfloat16 and no scaler (bfloat16 has float32's range)
    16-true     float16 weights and inputs (no master copy)
    bf16-true   bfloat16 weights and inputs

On the CPU, the float16/bfloat16 matrix products run in float32 on the low-precision arrays
(ops/half_compute.py): NumPy has no fast float16 kernels. CuPy has no bfloat16 arrays, so the
bf16 modes are refused on a GPU before anything is built.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import torchlite

PRECISIONS = ("32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64")
_TRUE_DTYPE = {"64": "float64", "16-true": "float16", "bf16-true": "bfloat16"}
_MIXED_DTYPE = {"16-mixed": "float16", "bf16-mixed": "bfloat16"}


def normalize(value: Any) -> str:
    """The canonical name of a precision given in a config or on the command line (32 and 64
    may be numbers; Lightning's older '16'/'bf16' mean the mixed modes)."""
    text = str(value).strip()
    text = {"32-true": "32", "64-true": "64", "16": "16-mixed", "bf16": "bf16-mixed",
            "32.0": "32", "64.0": "64"}.get(text, text)
    if text not in PRECISIONS:
        raise ValueError(f"unknown precision {value!r}; expected one of {', '.join(PRECISIONS)}")
    return text


def unsupported(mode: str, device: str) -> str | None:
    """Why `mode` cannot run on `device` (a device string like 'cpu' or 'cuda:0'), or None."""
    if "bf16" in mode:
        if str(device).startswith("cuda"):
            return (f"precision {mode} needs bfloat16 arrays, which CuPy does not have; use "
                    "16-mixed on a GPU")
        try:
            torchlite.bfloat16.np  # noqa: B018 - resolving it imports ml_dtypes
        except TypeError:
            return (f"precision {mode} needs the ml_dtypes package: "
                    "pip install 'torchlite[bf16]'")
    return None


class Precision:
    """One run's precision: converts the model, opens the autocast region of a step, scales
    the loss and steps through the GradScaler (16-mixed), and keeps the scaler's state."""

    def __init__(self, mode: Any = "32", device: Any = "cpu") -> None:
        self.mode = normalize(mode)
        self.device_type = "cuda" if str(device).startswith("cuda") else "cpu"
        true = _TRUE_DTYPE.get(self.mode)
        mixed = _MIXED_DTYPE.get(self.mode)
        self.param_dtype = getattr(torchlite, true) if true else None
        self.autocast_dtype = getattr(torchlite, mixed) if mixed else None
        self.scaler = (torchlite.amp.GradScaler(self.device_type)
                       if self.mode == "16-mixed" else None)

    # -- the model ---------------------------------------------------------------------------
    def convert(self, model) -> Any:
        """For the -true modes and 64: the model's weights in that dtype, and its floating
        inputs cast to it on the way in (the data stays float32)."""
        if self.param_dtype is None:
            return model
        model.to(self.param_dtype)
        dtype = self.param_dtype

        def cast_inputs(module, args):
            return tuple(a.to(dtype) if isinstance(a, torchlite.Tensor)
                         and a.is_floating_point() else a for a in args)

        model.register_forward_pre_hook(cast_inputs)
        return model

    def for_inference(self, model) -> Any:
        """`model` (from a checkpoint) running in this precision, its outputs as float32 so
        that reports and predictions read the same whatever the mode (eval, infer)."""
        self.convert(model)
        forward = model.forward
        region = self.autocast

        @functools.wraps(forward)
        def run(*args: Any, **kwargs: Any) -> Any:
            with region():
                out = forward(*args, **kwargs)
            if isinstance(out, torchlite.Tensor) and out.dtype.is_floating_point:
                return out.float()
            return out

        model.forward = run
        return model

    # -- a step ------------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager:
        """The region for the forward pass and the loss (a no-op outside the mixed modes)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torchlite.autocast(self.device_type, dtype=self.autocast_dtype)

    def backward(self, loss) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer) -> None:
        """Gradients back to their true size, before clipping reads them."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> None:
        """The optimizer step (skipped by the scaler when a gradient is inf/NaN)."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    # -- resuming ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def check_precision(cfg, device: str) -> None:
    """Refuse trainer.precision where the device cannot run it (before any run folder)."""
    from .loader import ConfigError

    why = unsupported(cfg.trainer.precision, device)
    if why is not None:
        raise ConfigError([cfg.source.problem(("trainer", "precision"), why)])


def for_checkpoint(model, cfg, precision: str | None, device: str) -> Precision:
    """eval/infer: run a checkpoint's `model` in `precision` (default: the one it was trained
    in, from its config); a bad or unsupported value is a usage error (--precision)."""
    from torchlite.errors import UsageError

    stored = getattr(getattr(cfg, "trainer", None), "precision", "32")
    try:
        mode = normalize(precision if precision is not None else stored)
    except ValueError as exc:
        raise UsageError(f"--precision: {exc}") from None
    why = unsupported(mode, device)
    if why is not None:
        raise UsageError(f"--precision {mode}: {why}")
    prec = Precision(mode, device)
    prec.for_inference(model)
    return prec
