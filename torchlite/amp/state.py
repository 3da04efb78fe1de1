"""Autocast's state and the one call the autocast-aware ops make.

The ops that autocast changes (linear, matmul, conv, the losses, ...) test `on`, a module
attribute, before anything else: with autocast off that test is all they pay. Only when some
region is active do they call `cast`, which looks the op up in the running device's lists.

The state is process-wide rather than per thread (PyTorch's is per thread): torchlite's own
threads never run forward passes, and one flag keeps the off path to a single attribute read.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..ops import half_compute
from ..tensor import Tensor
from . import lists

on = False  # any device's autocast enabled
# per device type: the low dtype while enabled, else None
dtypes: dict[str, Any] = {"cpu": None, "cuda": None}
cache_enabled = True
# weight casts of this region, by id of the float32 leaf: (leaf, its low-precision copy)
cache: dict[int, tuple[Tensor, Tensor]] = {}
# leaves rounded for fused linears this region (ops/half_linear.py): id -> (leaf, float32
# rounded values, low dtype, [(node, input index) of each fused linear that took it])
rounded: dict[int, tuple] = {}

_LOW_CODES = "eE"  # float16, ml_dtypes' bfloat16 (dtype.name is a slow Python property)


def _floating(t: Tensor) -> bool:
    return t._data.dtype.kind in "fV"


class Cast(Op):
    """Tensor.to(dtype) for autocast's casts, by half_compute's conversions (NumPy's and
    ml_dtypes' casts, bit for bit, faster). A float32 array cast down is registered with its
    float32 values (`half_compute.remember`; a cached weight's until the outermost region
    closes), so the ops that compute in float32 take those instead of converting back. The
    float32 gradient of such a cast is the one half_compute left on the node when the
    low-precision gradient reaching it is the array it rounded, or the gradient itself when
    half_compute already made it float32 (`sole_use`, see `_mark`)."""

    widens_to_float32 = True  # half_compute reads it: see _grad_twin in backward

    @staticmethod
    def forward(ctx, x, dt):
        ctx.dtype = x.dtype
        if dt.char in "eE" and x.dtype == half_compute.FLOAT32 and type(x) is np.ndarray:
            low, twin = half_compute.narrow(x, dt)
            if twin is not None:
                half_compute.remember(low, twin)
            return low
        return _convert(x, dt)

    @staticmethod
    def backward(ctx, g):
        if g.dtype == ctx.dtype:  # half_compute took it to float32 already (`sole_use`)
            return g, None
        twin = ctx.__dict__.get("_grad_twin")
        if twin is not None and twin[0] is g:
            return twin[1], None
        return _convert(g, ctx.dtype), None


def _convert(a, dt):
    if dt == half_compute.FLOAT32 and half_compute.is_half_numpy(a):
        return half_compute.widen(a)
    if type(a) is np.ndarray and dt.char in "eE" and a.dtype == half_compute.FLOAT32:
        return half_compute.narrow(a, dt)[0]
    return a.astype(dt)


def _to(t: Tensor, dt) -> Tensor:
    return t if t._data.dtype == dt.np else Cast.apply(t, dt.np)


def _cached(t: Tensor, dt, sole: bool) -> Tensor:
    """A leaf parameter cast once per region, as PyTorch's weight cache. `sole`: the caller is
    an op in _ONE_NODE (see `_mark`)."""
    if not (cache_enabled and t._requires_grad and t.grad_fn is None):
        return _mark(_to(t, dt), sole)
    if _fused_uses(t):
        share_cast(t)
    hit = cache.get(id(t))
    if hit is not None and hit[0] is t and hit[1]._data.dtype == dt.np:
        return _mark(hit[1], False)  # a second user: gradients will add up
    out = _mark(_to(t, dt), sole)
    cache[id(t)] = (t, out)
    half_compute.pin(out._data)  # its float32 values too, for the region
    return out


def _fused_uses(t: Tensor) -> bool:
    """Whether fused linears of this region took leaf `t` into a graph that is being recorded
    (without one, as in an evaluation loop under no_grad, nothing has to add up: they may go
    on taking its rounded values)."""
    entry = rounded.get(id(t))
    return entry is not None and entry[0] is t and bool(entry[3])


def share_cast(t: Tensor) -> None:
    """Leaf `t`, taken by fused linears earlier in this region (`rounded`), is used again: it
    gets the region's cached cast, as the unfused ops would have given it, and those linears'
    graph edges to `t` are moved onto that cast, their gradients for it now in the low dtype
    (ops/half_linear.py), so every use's gradient adds up in the low dtype before it is
    widened for `t`, as in PyTorch."""
    _, _, dt, uses = rounded.pop(id(t))
    out = _to(t, backend.from_numpy_dtype(dt))
    cache[id(t)] = (t, out)
    half_compute.pin(out._data)
    node = out.grad_fn
    if node is None:  # (no graph is being recorded)
        return
    node.sole_use = False
    for ctx, i in uses:
        edges = list(ctx.next_edges)
        edges[i] = (node, 0)
        ctx.next_edges = tuple(edges)
        ctx.low_grads = ctx.low_grads | {i}


# The lower-precision ops whose function hands each cast argument straight to one graph node
# (F.linear: one Linear node; a bias that is not 1-D goes through an expand node first, whose
# edge then leads to the cast instead).
_ONE_NODE = frozenset({"linear"})


def _mark(t: Tensor, sole: bool) -> Tensor:
    """Tell half_compute whether the gradient reaching cast `t`'s node can only come from the
    one node of the op being called (then it may arrive as float32; see half_compute)."""
    node = t.grad_fn
    if node is not None and node.fn is Cast:
        node.sole_use = sole
    return t


def fused_linear(input: Any, weight: Any, bias: Any, relu: bool) -> Tensor | None:
    """linear(input, weight, bias), with a ReLU after it when `relu`, under CPU autocast to
    float16/bfloat16 as one node (ops/half_linear.py); None when the unfused ops must run."""
    low = dtypes.get("cpu")
    if (low is None or low.np.char not in _LOW_CODES or not isinstance(input, Tensor)
            or not isinstance(weight, Tensor) or not (bias is None or isinstance(bias, Tensor))
            or input._device.type != "cpu" or lists.POLICIES["cpu"].get("linear") != lists.LOWER):
        return None
    from ..ops import half_linear  # (here: it imports ops that import this module)

    args = (input, weight, bias)
    if any(t is not None and id(t) in cache for t in args):
        return None  # the unfused ops share the region's cast
    taken = [t for t in args if t is not None and _fused_uses(t)]
    if taken:  # used again in the region: from here on the unfused ops share one cast
        for t in taken:
            share_cast(t)
        return None
    return half_linear.fused(input, weight, bias, relu, low.np, cache_enabled, rounded)


def cast(op: str, *args: Any) -> tuple:
    """`args` as op `op` sees them under the active autocast: tensors cast by the op's policy
    (lower precision, float32, or the widest input dtype); anything else unchanged."""
    dev: str | None = next((a._device.type for a in args if isinstance(a, Tensor)), None)
    if dev is None:
        return args
    low = dtypes.get(dev)
    if low is None:
        return args
    policy = lists.POLICIES[dev].get(op)
    if policy is None:
        if dev == "cuda" and op in lists.CUDA_BANNED:
            raise RuntimeError(f"{op}: {lists.CUDA_BANNED[op]}")
        return args
    if policy == lists.LOWER:
        sole = op in _ONE_NODE
        return tuple(_cached(a, low, sole) if isinstance(a, Tensor) and _floating(a)
                     and a._data.dtype != low.np and a._data.dtype.char != "d" else a
                     for a in args)
    if policy == lists.FP32:
        return tuple(_to(a, backend.float32) if isinstance(a, Tensor)
                     and a._data.dtype.char in _LOW_CODES else a for a in args)
    # PROMOTE: the widest floating dtype among the tensors
    floats = [a._data.dtype for a in args if isinstance(a, Tensor) and _floating(a)]
    if len(set(floats)) < 2:
        return args
    wide = backend.from_numpy_dtype(np.result_type(*set(floats)))  # bf16 with f16: float32
    return tuple(_to(a, wide) if isinstance(a, Tensor) and _floating(a)
                 and a._data.dtype != wide.np else a for a in args)


def op(name: str):
    """Decorate a function that autocast treats as op `name` (for functions called once a step,
    such as the losses; per-op hot paths test `on` inline instead of paying a wrapper)."""
    def decorate(fn):
        @functools.wraps(fn)
        def autocast_aware(*args: Any, **kwargs: Any) -> Any:
            if on:
                args = cast(name, *args)
                if kwargs:
                    keys = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
                    kwargs.update(zip(keys, cast(name, *[kwargs[k] for k in keys])))
            return fn(*args, **kwargs)

        return autocast_aware

    return decorate
