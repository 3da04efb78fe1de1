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


INT32_MAX = 2**31 - 1


def check_int32(name: str, **values: int) -> None:
    """Sizes a kernel takes as a C `int` (or a grid dimension) must fit one."""
    for what, v in values.items():
        if not 0 <= v <= INT32_MAX:
            raise ValueError(f"{name}: {what} = {v} does not fit the kernel's 32-bit int")


def raw_signature(source: str, name: str) -> list[tuple[str, str]]:
    """(type, name) of each parameter of `extern "C" __global__ void name(...)` in `source`;
    the type without `const` and `__restrict__`, a pointer's ending in `*` (`const T* x` ->
    ("T*", "x"), `const unsigned long long n` -> ("unsigned long long", "n"))."""
    head = f"void {name}("
    start = source.index(head) + len(head)
    depth, end = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(source[end], 0)
        end += 1
    out = []
    for p in source[start:end - 1].split(","):
        if not p.strip():
            continue
        words = p.replace("*", " * ").split()
        base = [w for w in words[:-1] if w not in ("const", "__restrict__", "*")]
        out.append((" ".join(base) + "*" * words.count("*"), words[-1]))
    return out


def raw_params(source: str, name: str) -> list[str]:
    """The parameter names of `extern "C" __global__ void name(...)` in `source`."""
    return [n for _, n in raw_signature(source, name)]
