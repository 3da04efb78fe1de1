"""Process-wide switches with PyTorch's names: deterministic algorithms and float32 matmul
precision (`torchlite.use_deterministic_algorithms`, `torchlite.set_float32_matmul_precision`).

This module imports nothing from torchlite: the ops read the flags from here.
"""

from __future__ import annotations

import warnings

_deterministic = False
_warn_only = False
_matmul_precision = "highest"
_PRECISIONS = ("highest", "high", "medium")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask every op for a deterministic algorithm, as `torch.use_deterministic_algorithms`.

    On the CPU every torchlite op is deterministic already. On a GPU the floating-point
    scatter-adds (index_add, scatter_add, and the backward of indexing, gather and embedding)
    use atomic adds, whose summation order varies from run to run; with `mode=True` they sum on
    the host instead (bit-reproducible, slower: a copy to the host and back). No torchlite op
    lacks a deterministic version, so nothing raises and `warn_only` only is recorded.
    """
    global _deterministic, _warn_only
    for name, v in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(v, bool):
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}' must be bool, "
                            f"not {type(v).__name__}")
    _deterministic = mode
    _warn_only = warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _warn_only


def set_float32_matmul_precision(precision: str) -> None:
    """Record the float32 matmul precision ("highest", "high" or "medium"), as PyTorch's.

    torchlite always multiplies float32 matrices in full float32 (NumPy's BLAS; cuBLAS without
    TF32 on a GPU), so the setting is only recorded and read back by
    `get_float32_matmul_precision()` and `torchlite.backends.cuda.matmul.allow_tf32`. Another
    string warns and changes nothing, as in PyTorch.
    """
    global _matmul_precision
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning,
                      stacklevel=2)
        return
    _matmul_precision = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision
