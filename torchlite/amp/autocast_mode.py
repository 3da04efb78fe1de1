"""autocast: regions where the matmul-like ops run in a low dtype and the touchy ones in
float32, as `torch.autocast`."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from .. import backend
from ..ops import half_compute
from . import state

F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT = {"cpu": "bfloat16", "cuda": "float16"}
_depth = 0  # open regions, enabled or not; the weight cache is dropped when the last one closes


class autocast:
    """Run the ops in this region (a `with` block or a decorated function) in mixed precision.

    Inside, ops on `device_type` tensors follow PyTorch's autocast lists: linear, matmul, conv,
    bmm, baddbmm and attention in `dtype` (default: bfloat16 on the CPU, float16 on CUDA); the
    losses (and on CUDA softmax, norms, sum, exp, log, pow, ...) in float32; the rest in the
    dtype of their inputs. Regions nest; `enabled=False` turns autocast off inside a region.
    With `cache_enabled`, each float32 parameter is cast once per outermost region. Unlike
    PyTorch's, the state is process-wide rather than per thread. CuPy has no bfloat16, so a
    CUDA region asked for bfloat16 warns and stays off, as PyTorch does for a dtype the device
    cannot do.
    """

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEFAULT:
            raise RuntimeError(f"autocast: unsupported device_type {device_type!r}; torchlite "
                               "autocasts 'cpu' and 'cuda'")
        self.device = device_type
        self.fast_dtype = backend.to_dtype(dtype if dtype is not None else _DEFAULT[device_type])
        self._cache_enabled = state.cache_enabled if cache_enabled is None else bool(cache_enabled)
        self._enabled = bool(enabled)
        if self._enabled and self.fast_dtype.name not in _SUPPORTED[device_type]:
            what = "CPU" if device_type == "cpu" else "CUDA"
            warnings.warn(
                f"In {what} autocast, but the target dtype {self.fast_dtype} is not supported "
                f"(torchlite supports {', '.join(_SUPPORTED[device_type])}). Disabling "
                "autocast.", stacklevel=2)
            self._enabled = False
        self._saved: tuple | None = None

    def __enter__(self) -> autocast:
        global _depth
        self._saved = (state.dtypes[self.device], state.cache_enabled)
        state.dtypes[self.device] = self.fast_dtype if self._enabled else None
        state.cache_enabled = self._cache_enabled
        state.on = any(d is not None for d in state.dtypes.values())
        _depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        global _depth
        assert self._saved is not None
        state.dtypes[self.device], state.cache_enabled = self._saved
        state.on = any(d is not None for d in state.dtypes.values())
        _depth -= 1
        if _depth == 0:
            state.cache.clear()
            state.rounded.clear()
            half_compute.forget_all()

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return decorated  # type: ignore[return-value]


_SUPPORTED = {"cpu": ("bfloat16", "float16"), "cuda": ("float16",)}


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for `device_type` (default: 'cuda', as PyTorch)."""
    return state.dtypes.get(device_type or "cuda") is not None


def get_autocast_dtype(device_type: str) -> Any:
    """The low dtype autocast uses on `device_type` (its default outside any region)."""
    d = state.dtypes.get(device_type)
    return d if d is not None else backend.to_dtype(_DEFAULT[device_type])


def is_autocast_available(device_type: str) -> bool:
    """True for the device types torchlite can autocast: 'cpu' and 'cuda'."""
    return device_type in _DEFAULT


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None):
    """Decorate a custom Function's forward, as torch.amp.custom_fwd: with `cast_inputs`, an
    autocast region runs it with autocast off and its floating tensor inputs cast to that
    dtype; either way `custom_bwd` runs backward under the same autocast state."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(ctx, *args: Any, **kwargs: Any) -> Any:
        ctx._fwd_used_autocast = is_autocast_enabled(device_type)
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None or not ctx._fwd_used_autocast:
            return fwd(ctx, *args, **kwargs)
        dt = backend.to_dtype(cast_inputs)
        args = tuple(_cast(a, dt) for a in args)
        kwargs = {k: _cast(v, dt) for k, v in kwargs.items()}
        with autocast(device_type, enabled=False):
            return fwd(ctx, *args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str):
    """Decorate a custom Function's backward (see custom_fwd)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(ctx, *args: Any, **kwargs: Any) -> Any:
        with autocast(device_type, dtype=ctx._dtype, enabled=ctx._fwd_used_autocast):
            return bwd(ctx, *args, **kwargs)

    return decorate_bwd


def _cast(value: Any, dt) -> Any:
    from ..tensor import Tensor

    if isinstance(value, Tensor) and value.is_floating_point() and value.dtype != dt:
        return value.to(dt)
    return value
