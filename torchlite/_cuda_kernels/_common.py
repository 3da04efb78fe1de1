"""What the kernel modules share: the cupy module (through the backend), a cache of built
kernels, C type names, argument checks, and a brace check for kernel sources."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import backend

# Compile without contracting a * b + c into one fused multiply-add: every operation rounds
# separately, as in NumPy, so updates match the CPU's arithmetic operation by operation.
EXACT = ("--fmad=false",)

_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_kernels: dict = {}


def cupy():
    return backend.cupy_module()


def kernel(key, build: Callable):
    """The kernel object for `key`, built once by `build(cupy)` (cupy compiles it on the first
    launch per dtype and device, and keeps the binary in its on-disk cache)."""
    k = _kernels.get(key)
    if k is None:
        k = _kernels[key] = build(cupy())
    return k


def ctype(dtype) -> str:
    """The C type of a float32/float64 array; TypeError for other dtypes (callers fall back to
    the unfused path)."""
    try:
        return _CTYPES[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"fused kernels take float32 or float64 arrays, not {np.dtype(dtype)}") \
            from None


def check_contiguous(name: str, *arrays) -> None:
    for i, a in enumerate(arrays):
        if a is not None and not a.flags.c_contiguous:
            raise ValueError(f"{name}: array {i} of shape {a.shape} is not C-contiguous")


def balanced(source: str) -> bool:
    """Whether (), [] and {} nest properly in a kernel source (a cheap sanity check)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in source:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


def raw_params(source: str, name: str) -> list[str]:
    """The parameter names of `extern "C" __global__ void name(...)` in `source`."""
    head = f"void {name}("
    start = source.index(head) + len(head)
    depth, end = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(source[end], 0)
        end += 1
    params = source[start:end - 1].split(",")
    return [p.replace("*", " ").split()[-1] for p in params if p.strip()]
