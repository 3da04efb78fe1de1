"""`torchlite.compile`: PyTorch's `torch.compile`, which in torchlite compiles nothing."""

from __future__ import annotations

from collections.abc import Callable

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def compile(model: Callable | None = None, *, fullgraph: bool = False,  # noqa: A001
            dynamic: bool | None = None, backend: str | Callable | None = None,
            mode: str | None = None, options: dict | None = None, name: str | None = None,
            disable: bool = False, **kwargs):
    """Return `model` (a Module or function) unchanged, as `torch.compile`'s signature promises
    an equivalent callable.

    torchlite has no graph compiler: ops already run as whole-array NumPy/CuPy calls and fused
    kernels, so the code runs eagerly, as it would with `torch.compile(..., disable=True)`.
    Works as `compile(model)`, `@compile` and `@compile(mode=...)`; `mode` is checked as in
    PyTorch, the other arguments are accepted and ignored. Differs from PyTorch on purpose: the
    result is the very object passed in (PyTorch wraps a Module in an OptimizedModule whose
    state_dict keys gain an `_orig_mod.` prefix).
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified "
                           "at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")

    def wrap(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"A callable function is expected, but {type(fn)} is provided.")
        return fn

    if model is None:
        return wrap
    return wrap(model)
