"""Adam and SGD updates for a whole parameter group in one kernel launch.

Design: a RawKernel walks a table of device pointers rather than a flat buffer. A flat buffer
would need the parameters (and every state buffer) to live as views of one allocation owned by
the optimizer, and the gradients, which autograd hands over as separate arrays each step, to be
copied into it first (one more pass and more launches). The pointer table needs neither: the
arrays stay where they are, and the table (the pointers, sizes and a block -> (tensor, chunk)
map, one int64 array) is uploaded once and cached by its contents; with CuPy's memory pool the
gradients come back at the same addresses step after step, so the cache keeps hitting.

Each block updates one chunk of one tensor. The arithmetic is `_adam_update` (torchlite/optim/
adam.py) and `_sgd_update` (sgd.py), operation by operation, in the arrays' dtype: the kernels
are compiled without fused multiply-add (`_common.EXACT`), hyper-parameters are rounded to the
dtype on the host as NumPy rounds a Python float, and sqrt and division round correctly, so a
float32 step gives the CPU's bits (tests/cuda_kernels/_optim_reference.py mirrors the kernels in
NumPy to check it).
"""

from __future__ import annotations

import functools
from collections import OrderedDict

import numpy as np

from . import _common

__all__ = ["adam_", "sgd_"]

CHUNK = 8192  # elements per block
THREADS = 256

_HELPERS = r"""
__device__ __forceinline__ float tl_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double tl_sqrt(double x) { return sqrt(x); }
"""

# flags of the Adam kernel
A_AMSGRAD, A_MAXIMIZE, A_SHRINK, A_L2, A_W1_SMALL = 1, 2, 4, 8, 16

ADAM_PARAMS = ("table", "n", "n_blocks", "shrink", "l2", "w1", "one_minus_w1", "beta2",
               "one_minus_beta2", "bc2_sqrt", "eps", "neg_step_size", "flags")
ADAM_SOURCE = _HELPERS + r"""
extern "C" __global__ void tl_adam(
    const long long* __restrict__ table, const int n, const int n_blocks,
    const T shrink, const T l2, const T w1, const T one_minus_w1, const T beta2,
    const T one_minus_beta2, const T bc2_sqrt, const T eps, const T neg_step_size,
    const int flags)
{
    // table: param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq pointers (n each), sizes (n),
    // then per block its tensor (n_blocks) and first element (n_blocks)
    const int b = blockIdx.x;
    if (b >= n_blocks) return;
    const int t = (int)table[6 * n + b];
    const long long start = table[6 * n + n_blocks + b];
    const long long size = table[5 * n + t];
    const long long end = start + CHUNK < size ? start + CHUNK : size;
    T* p = (T*)table[t];
    const T* g = (const T*)table[n + t];
    T* m = (T*)table[2 * n + t];
    T* v = (T*)table[3 * n + t];
    T* vmax = (T*)table[4 * n + t];
    for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
        T pi = p[i];
        T gi = g[i];
        if (flags & 4) pi = pi * shrink;               // decoupled weight decay
        if (flags & 2) gi = -gi;                       // maximize
        if (flags & 8) gi = gi + pi * l2;              // L2 weight decay
        T mi = m[i];
        T diff = gi - mi;                              // lerp, as _inplace.lerp_ does
        if (flags & 16) mi = mi + diff * w1;
        else mi = gi - diff * one_minus_w1;
        T vi = v[i] * beta2;
        vi = vi + (gi * one_minus_beta2) * gi;
        m[i] = mi;
        v[i] = vi;
        T vv = vi;
        if (flags & 1) {                               // amsgrad: NaN-propagating maximum
            T old = vmax[i];
            vv = (old > vi || old != old) ? old : vi;
            vmax[i] = vv;
        }
        T denom = tl_sqrt(vv) / bc2_sqrt + eps;
        p[i] = pi + (mi * neg_step_size) / denom;
    }
}
"""

# flags of the SGD kernel
S_MAXIMIZE, S_L2, S_MOMENTUM, S_FIRST, S_NESTEROV, S_DAMPENING = 1, 2, 4, 8, 16, 32

SGD_PARAMS = ("table", "n", "n_blocks", "lr", "momentum", "one_minus_dampening", "l2", "flags")
SGD_SOURCE = r"""
extern "C" __global__ void tl_sgd(
    const long long* __restrict__ table, const int n, const int n_blocks,
    const T lr, const T momentum, const T one_minus_dampening, const T l2, const int flags)
{
    // table: param, grad, momentum_buffer pointers (n each), sizes (n), then per block its
    // tensor (n_blocks) and first element (n_blocks)
    const int b = blockIdx.x;
    if (b >= n_blocks) return;
    const int t = (int)table[4 * n + b];
    const long long start = table[4 * n + n_blocks + b];
    const long long size = table[3 * n + t];
    const long long end = start + CHUNK < size ? start + CHUNK : size;
    T* p = (T*)table[t];
    const T* g = (const T*)table[n + t];
    T* buf = (T*)table[2 * n + t];
    for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
        T pi = p[i];
        T gi = g[i];
        if (flags & 1) gi = -gi;                       // maximize
        if (flags & 2) gi = gi + pi * l2;              // weight decay
        if (flags & 4) {                               // momentum
            T bi;
            if (flags & 8) {
                bi = gi;                               // first step: the buffer is the grad
            } else {
                bi = buf[i] * momentum;
                bi = bi + ((flags & 32) ? gi * one_minus_dampening : gi);
            }
            buf[i] = bi;
            gi = (flags & 16) ? bi * momentum + gi : bi;
        }
        p[i] = pi - gi * lr;
    }
}
"""


def raw_source(src: str, dtype) -> str:
    """The source a RawKernel of this module compiles for `dtype` (ADAM_SOURCE or SGD_SOURCE)."""
    return (f"#define T {_common.ctype(dtype)}\n#define CHUNK {CHUNK}\n" + src)


def _raw(name: str, src: str, dtype):
    key = (name, np.dtype(dtype).str)
    return _common.kernel(key, lambda cp: cp.RawKernel(raw_source(src, dtype), name,
                                                       options=_common.EXACT))


class _Tables:
    """Device copies of pointer tables, by device and content (least recently used dropped
    first). The content holds every pointer and size the kernel reads, so a table is reused only
    for arrays at the same addresses with the same sizes; the device is in the key because a
    table lives on the GPU it was uploaded to (tables of empty arrays, all null pointers, are
    the same bytes on every GPU)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._tables: OrderedDict = OrderedDict()

    def get(self, cp, host: np.ndarray, device: int):
        key = (device, host.tobytes())
        dev = self._tables.get(key)
        if dev is None:
            dev = self._tables[key] = cp.asarray(host)
            if len(self._tables) > self.size:
                self._tables.popitem(last=False)
        else:
            self._tables.move_to_end(key)
        return dev


_tables = _Tables()


@functools.lru_cache(maxsize=64)
def _blocks(sizes: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """Sizes, then each block's tensor and first element (a tensor of n elements gets
    ceil(n / CHUNK) blocks, an empty one a block with nothing to do)."""
    blocks_t, blocks_s = [], []
    for t, size in enumerate(sizes):
        starts = range(0, max(size, 1), CHUNK)
        blocks_t.extend([t] * len(starts))
        blocks_s.extend(starts)
    return np.array(list(sizes) + blocks_t + blocks_s, dtype=np.int64), len(blocks_t)


def _table(groups: list[list], sizes: list[int]) -> tuple[np.ndarray, int]:
    """The host table: pointers of each list in `groups` (0 for None), sizes, block map."""
    tail, n_blocks = _blocks(tuple(sizes))
    ptrs = np.array([0 if a is None else a.data.ptr for group in groups for a in group],
                    dtype=np.int64)
    return np.concatenate([ptrs, tail]), n_blocks


def _check(name: str, params, *lists, contiguous: bool = True) -> np.dtype:
    """Each list (None: not used) holds one array per parameter, of its dtype and shape. No
    entry may be None: the kernel would dereference its null pointer."""
    if not params:
        raise ValueError(f"{name}: no parameters")
    dtype = params[0].dtype
    _common.ctype(dtype)
    for lst in (params, *lists):
        if lst is None:
            continue
        if len(lst) != len(params):
            raise ValueError(f"{name}: {len(params)} parameters but a list of {len(lst)} arrays")
        for p, a in zip(params, lst):
            if a is None:
                raise ValueError(f"{name}: a None where an array is needed (parameter of shape "
                                 f"{p.shape})")
            if a.dtype != dtype or a.shape != p.shape:
                raise ValueError(f"{name}: arrays must share the parameters' dtype and shapes "
                                 f"({a.dtype} {a.shape} vs {p.dtype} {p.shape})")
    if contiguous:
        _common.check_contiguous(name, *params, *(a for lst in lists if lst for a in lst))
    return dtype


def _same_device(cp, name: str, *lists) -> int:
    """Every array on the current GPU: the kernel dereferences their pointers there. Returns
    the current device's id."""
    here = cp.cuda.runtime.getDevice()
    for lst in lists:
        for a in lst or ():
            if a is not None and a.device.id != here:
                raise ValueError(f"{name}: arrays must be on the current device cuda:{here}, "
                                 f"found one on cuda:{a.device.id} (use cupy.cuda.Device)")
    return here


def _contiguous(cp, arrays):
    return [a if a.flags.c_contiguous else cp.ascontiguousarray(a) for a in arrays]


def _adam_scalars(dtype, *, step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                  decoupled):
    """The kernel's scalar arguments, rounded to the dtype as NumPy rounds Python floats."""
    T = np.dtype(dtype).type
    w1 = 1 - beta1
    flags = (A_AMSGRAD if amsgrad else 0) | (A_MAXIMIZE if maximize else 0) | \
        (A_W1_SMALL if w1 < 0.5 else 0)
    shrink = l2 = 0.0
    if weight_decay != 0:
        if decoupled:
            shrink, flags = 1 - lr * weight_decay, flags | A_SHRINK
        else:
            l2, flags = weight_decay, flags | A_L2
    step_size = lr / (1 - beta1**step)
    bc2_sqrt = (1 - beta2**step) ** 0.5
    return dict(shrink=T(shrink), l2=T(l2), w1=T(w1), one_minus_w1=T(1.0 - w1), beta2=T(beta2),
                one_minus_beta2=T(1 - beta2), bc2_sqrt=T(bc2_sqrt), eps=T(eps),
                neg_step_size=T(-step_size), flags=np.int32(flags))


def adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr, beta1,
          beta2, eps, weight_decay, amsgrad, maximize, decoupled) -> None:
    """One Adam (AdamW with `decoupled`) step over lists of same-dtype cupy arrays, in place on
    the parameters and moment buffers, in one kernel launch.

    `step` is the step count after this step, shared by every parameter of the call (group the
    parameters by their step count if they can differ); `max_exp_avg_sqs` is used only with
    `amsgrad`; every array is on the current GPU. The update rule is `torchlite.optim.Adam`'s.
    """
    if amsgrad and max_exp_avg_sqs is None:
        raise ValueError("adam_: amsgrad needs the max_exp_avg_sqs buffers")
    dtype = _check("adam_", params, exp_avgs, exp_avg_sqs,
                   max_exp_avg_sqs if amsgrad else None)
    _check("adam_", params, grads, contiguous=False)  # non-contiguous grads are copied
    cp = _common.cupy()
    vmax = max_exp_avg_sqs if amsgrad else [None] * len(params)
    device = _same_device(cp, "adam_", params, grads, exp_avgs, exp_avg_sqs, vmax)
    grads = _contiguous(cp, grads)
    host, n_blocks = _table([params, grads, exp_avgs, exp_avg_sqs, vmax],
                            [p.size for p in params])
    _common.check_int32("adam_", n_blocks=n_blocks)
    s = _adam_scalars(dtype, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                      weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                      decoupled=decoupled)
    args = dict(table=_tables.get(cp, host, device), n=np.int32(len(params)),
                n_blocks=np.int32(n_blocks), **s)
    _raw("tl_adam", ADAM_SOURCE, dtype)((n_blocks,), (THREADS,),
                                        tuple(args[k] for k in ADAM_PARAMS))


def _sgd_scalars(dtype, *, lr, momentum, dampening, weight_decay, nesterov, maximize,
                 first_step):
    T = np.dtype(dtype).type
    flags = (S_MAXIMIZE if maximize else 0) | (S_L2 if weight_decay != 0 else 0)
    if momentum != 0:
        flags |= S_MOMENTUM | (S_FIRST if first_step else 0) | (S_NESTEROV if nesterov else 0)
        flags |= S_DAMPENING if dampening != 0 else 0
    return dict(lr=T(lr), momentum=T(momentum), one_minus_dampening=T(1 - dampening),
                l2=T(weight_decay), flags=np.int32(flags))


def sgd_(params, grads, bufs=None, *, lr, momentum, dampening, weight_decay, nesterov,
         maximize, first_step) -> None:
    """One SGD step over lists of same-dtype cupy arrays, in place, in one kernel launch.

    With momentum, `bufs` are the momentum buffers; on the first step (`first_step`, the
    buffers do not exist yet in `torch.optim.SGD`) pass freshly allocated arrays
    (`cupy.empty_like(p)`): the kernel writes the gradient into them, as `_sgd_update` starts a
    buffer as a copy of the gradient. Without momentum `bufs` is ignored.
    """
    if momentum != 0 and bufs is None:
        raise ValueError("sgd_: momentum needs the momentum buffers (bufs)")
    dtype = _check("sgd_", params, bufs if momentum != 0 else None)
    _check("sgd_", params, grads, contiguous=False)
    cp = _common.cupy()
    buf_list = bufs if momentum != 0 else [None] * len(params)
    device = _same_device(cp, "sgd_", params, grads, buf_list)
    grads = _contiguous(cp, grads)
    host, n_blocks = _table([params, grads, buf_list], [p.size for p in params])
    _common.check_int32("sgd_", n_blocks=n_blocks)
    s = _sgd_scalars(dtype, lr=lr, momentum=momentum, dampening=dampening,
                     weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                     first_step=first_step)
    args = dict(table=_tables.get(cp, host, device), n=np.int32(len(params)),
                n_blocks=np.int32(n_blocks), **s)
    _raw("tl_sgd", SGD_SOURCE, dtype)((n_blocks,), (THREADS,),
                                      tuple(args[k] for k in SGD_PARAMS))
