"""A CPU stand-in for cupy, for running the fused kernels' wrappers and CUDA C sources here.

`FakeCupy` is the part of cupy the wrappers use, over NumPy: its arrays are `DeviceArray`s (a
NumPy subclass with `.device.id` and `.data.ptr`, the address of the first element), and its
`RawKernel` and `ElementwiseKernel` compile the kernel source with the host C++ compiler behind
a small prelude that maps CUDA's built-ins onto the CPU:

- a RawKernel launch runs its blocks one after another, each block's threads as coroutines
  (ucontext) taking turns at `__syncthreads()`, so `__shared__` arrays (function statics) are
  one per block and the barrier is a real one. If a thread reaches `__syncthreads()` after
  others of its block have returned, the launch fails (a barrier in a divergent branch).
- every launch argument is checked against the C signature first, as CuPy would pass it: a
  pointer parameter takes a C-contiguous DeviceArray of the pointee's dtype, a scalar parameter
  the NumPy scalar type of its C type (a Python int or float, which CuPy would pass as 64-bit,
  is refused).
- an ElementwiseKernel runs its operation over the broadcast arguments in one loop.

What this cannot show: NVRTC-only compile errors (the host compiler is not NVRTC), CUDA's math
library's exact results (glibc's expf/logf/tanhf/erff differ from CUDA's by an ulp or two: only
kernels made of +, -, *, / and sqrt match bit for bit), timing, and races between threads (the
threads of a block take turns; blocks run one after another).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np

from torchlite._cuda_kernels import _common

# the launcher uses ucontext coroutines: Linux (glibc) only
CXX = (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
       if sys.platform.startswith("linux") else None)
# -ffp-contract=off: no fused multiply-add, as the kernels built with --fmad=false
CXXFLAGS = ["-std=c++17", "-O1", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math",
            "-w"]

_C_DTYPES = {"int": np.int32, "long long": np.int64, "unsigned long long": np.uint64,
             "unsigned int": np.uint32, "float": np.float32, "double": np.float64,
             "bool": np.bool_}
_CUPY_TYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long",
               "uint32": "unsigned int", "uint64": "unsigned long long", "bool": "bool"}
_CTYPE_OF = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

_COMMON_PRELUDE = r"""
#include <cmath>
#include <math.h>
#include <cstdint>
using std::exp; using std::log; using std::sqrt; using std::tanh; using std::erf;
using std::fabs; using std::nan;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
"""

_RAW_PRELUDE = _COMMON_PRELUDE + r"""
#include <ucontext.h>
#include <memory>
#include <vector>
struct tl_uint3 { unsigned int x, y, z; };
static tl_uint3 threadIdx, blockIdx, blockDim, gridDim;

// The threads of a block are coroutines on one OS thread: each runs until it reaches
// __syncthreads() or returns, and the barrier opens when every thread is at it.
static ucontext_t tl_main;
static std::vector<ucontext_t> tl_ctx;
static std::vector<int> tl_state;  // 0 runnable, 1 at the barrier, 2 returned
static unsigned tl_cur;
static void tl_syncthreads() {
    tl_state[tl_cur] = 1;
    swapcontext(&tl_ctx[tl_cur], &tl_main);
}
#define __syncthreads() tl_syncthreads()
#define __shared__ static
__device__ inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
"""

_RAW_LAUNCHER = r"""
static void** tl_args;
static void tl_thread() {
    tl_entry(tl_args);
    tl_state[tl_cur] = 2;  // back to tl_main through uc_link
}

// 0, or 1 when __syncthreads() was reached after some threads of the block had returned
extern "C" int tl_launch(unsigned grid, unsigned block, void** a) {
    const size_t stack = 64 * 1024;
    std::unique_ptr<char[]> stacks(new char[stack * block]);
    tl_ctx.assign(block, ucontext_t());
    tl_state.assign(block, 0);
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    tl_args = a;
    int error = 0;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx = {b, 0, 0};
        for (unsigned t = 0; t < block; ++t) {
            getcontext(&tl_ctx[t]);
            tl_ctx[t].uc_stack.ss_sp = &stacks[stack * t];
            tl_ctx[t].uc_stack.ss_size = stack;
            tl_ctx[t].uc_link = &tl_main;
            makecontext(&tl_ctx[t], tl_thread, 0);
            tl_state[t] = 0;
        }
        for (;;) {
            for (unsigned t = 0; t < block; ++t) {
                if (tl_state[t] != 0) continue;
                tl_cur = t;
                threadIdx = {t, 0, 0};
                swapcontext(&tl_main, &tl_ctx[t]);
            }
            unsigned waiting = 0, returned = 0;
            for (unsigned t = 0; t < block; ++t) {
                waiting += tl_state[t] == 1;
                returned += tl_state[t] == 2;
            }
            if (waiting == 0) break;
            if (returned) error = 1;
            for (unsigned t = 0; t < block; ++t)
                if (tl_state[t] == 1) tl_state[t] = 0;
        }
    }
    return error;
}
"""


class _Dev:
    id = 0


class _Ptr:
    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


class DeviceArray(np.ndarray):
    """A NumPy array posing as a cupy one: `.device.id` and `.data.ptr`."""

    device = _Dev()

    @property
    def data(self):
        return _Ptr(self.ctypes.data)


def dev(a) -> DeviceArray:
    return np.asarray(a).view(DeviceArray)


def host(a) -> np.ndarray:
    return np.asarray(a).view(np.ndarray)


def _compile(source: str) -> ctypes.CDLL:
    if CXX is None:
        raise RuntimeError("no C++ compiler")
    digest = hashlib.sha256((source + " ".join(CXXFLAGS) + CXX).encode()).hexdigest()[:24]
    cache = os.path.join(tempfile.gettempdir(), f"torchlite-kernel-emulator-{os.getuid()}")
    os.makedirs(cache, exist_ok=True)
    lib = os.path.join(cache, f"{digest}.so")
    if not os.path.exists(lib):
        src = os.path.join(cache, f"{digest}.{os.getpid()}.cpp")
        tmp = lib + f".{os.getpid()}.tmp"
        with open(src, "w") as f:
            f.write(source)
        r = subprocess.run([CXX, *CXXFLAGS, "-o", tmp, src], capture_output=True, text=True)
        os.remove(src)
        if r.returncode:
            raise CompileError(r.stderr[-4000:] + "\n--- source ---\n" + source)
        os.replace(tmp, lib)
    return ctypes.CDLL(lib)


class CompileError(RuntimeError):
    pass


def _typedef(source: str) -> np.dtype | None:
    m = re.search(r"^#define T (\w+)$", source, re.M)
    return np.dtype(_C_DTYPES[m.group(1)]) if m else None


class RawKernel:
    """cupy.RawKernel, run on the CPU (see the module docstring)."""

    launches: list = []  # (name, grid, block, args) of every launch, for the tests

    def __init__(self, code: str, name: str, options=(), **kwargs) -> None:
        self.code, self.name, self.options = code, name, tuple(options)
        self.signature = _common.raw_signature(code, name)
        self.T = _typedef(code)
        self._lib = None

    def _library(self) -> ctypes.CDLL:
        if self._lib is None:
            args = []
            for i, (ctype, _) in enumerate(self.signature):
                args.append(f"*({ctype}*)a[{i}]")  # a[i] points at the value (or the pointer)
            entry = (f"extern \"C\" void {self.name}_entry(void** a) "
                     f"{{ {self.name}({', '.join(args)}); }}\n"
                     f"#define tl_entry {self.name}_entry\n")
            self._lib = _compile(_RAW_PRELUDE + self.code + "\n" + entry + _RAW_LAUNCHER)
            self._lib.tl_launch.restype = ctypes.c_int
            self._lib.tl_launch.argtypes = [ctypes.c_uint, ctypes.c_uint,
                                            ctypes.POINTER(ctypes.c_void_p)]
        return self._lib

    def check_args(self, args) -> None:
        """Raise TypeError unless `args` are what the C signature takes, as CuPy passes them."""
        if len(args) != len(self.signature):
            raise TypeError(f"{self.name}: {len(args)} arguments for {len(self.signature)} "
                            "parameters")
        for a, (ctype, pname) in zip(args, self.signature):
            base = ctype.rstrip("*")
            want = self.T if base == "T" else np.dtype(_C_DTYPES[base])
            if ctype.endswith("*"):
                if not isinstance(a, DeviceArray):
                    raise TypeError(f"{self.name}: {pname} ({ctype}) takes an array, got "
                                    f"{type(a).__name__}")
                if a.dtype != want or not a.flags.c_contiguous:
                    raise TypeError(f"{self.name}: {pname} ({ctype}) takes a C-contiguous "
                                    f"{want} array, got {a.dtype} (contiguous: "
                                    f"{a.flags.c_contiguous})")
            elif type(a) is not want.type:
                raise TypeError(f"{self.name}: {pname} ({ctype}) takes a {want} NumPy scalar, "
                                f"got {type(a).__name__} {a!r}")

    def __call__(self, grid, block, args, **kwargs) -> None:
        grid, block = tuple(grid), tuple(block)
        if len(grid) != 1 or len(block) != 1:
            raise TypeError(f"{self.name}: 1-d launches only, got {grid} x {block}")
        if not (1 <= grid[0] <= _common.INT32_MAX and 1 <= block[0] <= 1024):
            raise ValueError(f"{self.name}: bad launch {grid} x {block}")
        for g in (grid[0], block[0]):
            if type(g) is not int and not isinstance(g, np.integer):
                raise TypeError(f"{self.name}: grid and block take integers, got {g!r}")
        self.check_args(args)
        RawKernel.launches.append((self.name, grid, block, args))
        keep = []  # the values the pointers point at, alive through the call
        for a in args:
            if isinstance(a, DeviceArray):
                keep.append(np.array([a.ctypes.data], dtype=np.uint64))
            else:
                keep.append(np.array([a]))
        ptrs = (ctypes.c_void_p * len(keep))(*(k.ctypes.data for k in keep))
        err = self._library().tl_launch(int(grid[0]), int(block[0]), ptrs)
        if err:
            raise RuntimeError(f"{self.name}: __syncthreads() reached after some threads of "
                               "the block returned")


def _parse_params(spec: str) -> list[tuple[str, str]]:
    out = []
    for p in spec.split(","):
        if p.strip():
            t, n = p.split()
            out.append((t, n))
    return out


class ElementwiseKernel:
    """cupy.ElementwiseKernel, run on the CPU: broadcast, one loop over the elements."""

    def __init__(self, in_params, out_params, operation, name="kernel", preamble="",
                 options=(), **kwargs) -> None:
        self.ins, self.outs = _parse_params(in_params), _parse_params(out_params)
        self.operation, self.name, self.preamble = operation, name, preamble
        self.options = tuple(options)
        self._libs: dict = {}

    def _ctype(self, t: str, T: np.dtype) -> str:
        return _CTYPE_OF[T] if t == "T" else _CUPY_TYPES[t]

    def _library(self, T: np.dtype) -> ctypes.CDLL:
        if T not in self._libs:
            lines = []
            for i, (t, n) in enumerate(self.ins):
                lines.append(f"const {self._ctype(t, T)} {n} = "
                             f"((const {self._ctype(t, T)}*)a[{i}])[i];")
            for j, (t, n) in enumerate(self.outs, len(self.ins)):
                lines.append(f"{self._ctype(t, T)}& {n} = (({self._ctype(t, T)}*)a[{j}])[i];")
            src = (_COMMON_PRELUDE + f"typedef {_CTYPE_OF[T]} T;\n" + self.preamble +
                   "\nextern \"C\" void tl_ew(long long n, void** a) {\n"
                   "  for (long long i = 0; i < n; ++i) {\n    " + "\n    ".join(lines) +
                   f"\n    {self.operation};\n  }}\n}}\n")
            lib = _compile(src)
            lib.tl_ew.restype = None
            lib.tl_ew.argtypes = [ctypes.c_longlong, ctypes.POINTER(ctypes.c_void_p)]
            self._libs[T] = lib
        return self._libs[T]

    def __call__(self, *args):
        params = self.ins + self.outs
        if len(args) not in (len(self.ins), len(params)):
            raise TypeError(f"{self.name}: {len(args)} arguments")
        typed = [a for a, (t, _) in zip(args, params) if t == "T"]
        arrays = [a for a in typed if isinstance(a, np.ndarray)]
        T = (arrays or typed)[0].dtype
        for a in typed:
            if a.dtype != T:
                raise TypeError(f"{self.name}: type is mismatched ({a.dtype} for T = {T})")
        for a, (t, n) in zip(args, params):
            if isinstance(a, np.ndarray) and not isinstance(a, DeviceArray):
                raise TypeError(f"{self.name}: {n} is a host array")
            if t != "T" and np.dtype(getattr(a, "dtype", type(a))) != np.dtype(t):
                raise TypeError(f"{self.name}: {n} is {t}, got {a!r}")
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        outs = list(args[len(self.ins):])
        if not outs:
            outs = [DeviceArray(shape, dtype=T if t == "T" else np.dtype(t))
                    for t, _ in self.outs]
        for o in outs:
            if o.shape != shape:
                raise ValueError(f"{self.name}: output of shape {o.shape}, not {shape}")
        work = [np.ascontiguousarray(np.broadcast_to(
            np.asarray(a, dtype=T if t == "T" else np.dtype(t)), shape))
            for a, (t, _) in zip(args[:len(self.ins)], self.ins)]
        work += [np.empty(shape, dtype=o.dtype) for o in outs]
        ptrs = (ctypes.c_void_p * len(work))(*(w.ctypes.data for w in work))
        self._library(T).tl_ew(int(np.prod(shape)), ptrs)
        for o, w in zip(outs, work[len(self.ins):]):
            o[...] = w
        return outs[0] if len(outs) == 1 else tuple(outs)


def _wrap(fn):
    def f(*a, **k):
        r = fn(*a, **k)
        return r.view(DeviceArray) if isinstance(r, np.ndarray) else r
    return f


def fake_cupy() -> types.SimpleNamespace:
    """The cupy functions the wrappers call, over NumPy."""
    return types.SimpleNamespace(
        RawKernel=RawKernel, ElementwiseKernel=ElementwiseKernel,
        asarray=_wrap(lambda a, dtype=None: np.asarray(a, dtype=dtype)),
        ascontiguousarray=_wrap(lambda a, dtype=None: np.asarray(a, dtype=dtype, order="C")),
        empty=_wrap(np.empty), empty_like=_wrap(np.empty_like), zeros=_wrap(np.zeros),
        int64=np.int64, float32=np.float32, float64=np.float64,
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDevice=lambda: 0)),
    )
