"""float16 and bfloat16 ops computed in float32 on the CPU.

NumPy has no fast float16 kernels (its float16 matmul is ~30x slower than float32's and its
float16 sums accumulate in float16) and ml_dtypes' bfloat16 matmul returns float32. PyTorch's
CPU kernels accumulate low-precision products and reductions in float32; so do these: the
variant of an op made here upcasts NumPy float16/bfloat16 arrays to float32, runs the op's own
forward and backward, and rounds each result back to its input's dtype. CuPy arrays are left
alone (cuBLAS has float16 kernels with float32 accumulation).

The conversions are torchlite._half_cast's (bit for bit NumPy's and ml_dtypes' casts, several
times faster). Two of them are skipped where their result is already known:

* a low-precision array registered with `remember` (autocast's casts: a cached weight's for
  the region, an input's while it is recent) widens to the float32 array of its values kept
  beside it, without converting;
* a gradient rounded here for an input that autocast cast down from float32 (its graph edge
  leads to a node whose op has `widens_to_float32` set) leaves its float32 values on that node
  as `_grad_twin`, which the node's backward returns when the gradient reaching it is that very
  array (not a sum of several, which the engine makes anew); when autocast marked that node
  `sole_use` (its output went to one op that makes one graph node, so nothing else can add to
  the gradient), only those float32 values are made and handed on, not the rounded array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _half_cast
from ..autograd.owned import hand_over

_F32 = FLOAT32 = np.dtype(np.float32)  # a singleton: callers test `dtype is FLOAT32` first

# below these sizes (elements; measured crossovers, rounded down where the result's float32
# values, which come free, save a conversion later) NumPy's and ml_dtypes' casts win
_NARROW_MIN = {"e": 8192, "E": 16384}
_WIDEN_MIN = {"e": 4096, "E": 8192}

# id(low-precision array) -> (that array, its values as float32); see `remember`. Pinned
# entries stay until forget_all; the others only while they are among the last _RECENT.
_twins: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_recent: dict[int, None] = {}  # the unpinned ids, oldest first
_RECENT = 8


def is_half_numpy(arr: Any) -> bool:
    """A NumPy float16 or bfloat16 array ('e' is float16's type code, 'E' ml_dtypes' bfloat16)."""
    return type(arr) is np.ndarray and arr.dtype.char in "eE"


def _up(a: Any) -> Any:
    return widen(a) if is_half_numpy(a) else a


def widen(a: np.ndarray) -> np.ndarray:
    """A NumPy float16/bfloat16 array as float32 (exact)."""
    twin = _twins.get(id(a))
    if twin is not None and twin[0] is a:
        return twin[1]
    if a.size < _WIDEN_MIN[a.dtype.char] or not a.dtype.isnative:
        return a.astype(_F32)
    if a.dtype.char == "E":
        return _half_cast.bfloat16_to_float32(a)
    return _half_cast.float16_to_float32(a)


def narrow(r: np.ndarray, dt: np.dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """A float32 NumPy array rounded to float16/bfloat16 `dt` (as `astype`), and the float32
    values of that result when they came for free (else None)."""
    if r.size < _NARROW_MIN[dt.char] or not r.dtype.isnative:
        return r.astype(dt), None
    if dt.char == "e":
        return _half_cast.float32_to_float16(r)
    return _half_cast.float32_to_bfloat16(r, dt)


def rounded(r: np.ndarray, dt: np.dtype) -> np.ndarray:
    """`r.astype(dt).astype(float32)` for a float32 NumPy array and dt float16/bfloat16."""
    if r.size < _NARROW_MIN[dt.char] or not r.dtype.isnative:
        return r.astype(dt).astype(_F32)
    if dt.char == "e":
        return _half_cast.round_to_float16(r)
    return _half_cast.round_to_bfloat16(r)


def remember(low: np.ndarray, twin: np.ndarray, pin: bool = False) -> None:
    """Let `widen(low)` return `twin` (low's values as float32), for an array nothing writes
    to: with `pin` (autocast's cached weight casts) until `forget_all`, else while it is among
    the last few remembered (an input cast, used by the op called next), so that a long region
    does not keep every batch's casts alive."""
    key = id(low)
    _twins[key] = (low, twin)
    if pin:
        _recent.pop(key, None)
        return
    _recent[key] = None
    if len(_recent) > _RECENT:
        old = next(iter(_recent))
        del _recent[old]
        _twins.pop(old, None)


def pin(low: np.ndarray) -> None:
    """Keep `low`'s remembered float32 values until `forget_all` (see `remember`)."""
    entry = _twins.get(id(low))
    if entry is not None and entry[0] is low:
        _recent.pop(id(low), None)


def _down(r: Any, dt: np.dtype) -> Any:
    if isinstance(r, (np.ndarray, np.generic)) and r.dtype == _F32 and dt is not None:
        if type(r) is not np.ndarray:  # (a 1-D matmul gives a NumPy scalar)
            return np.asarray(r).astype(dt)
        return narrow(r, dt)[0]
    return r


def _down_for(r: Any, dt: np.dtype, edge: Any) -> Any:
    """`_down(r, dt)` for the gradient going along graph `edge`; see the module docstring."""
    node = edge[0] if edge is not None else None
    if (getattr(getattr(node, "fn", None), "widens_to_float32", False) and type(r) is np.ndarray
            and dt is not None and r.dtype == _F32 and node.dtype == _F32):
        if node.__dict__.get("sole_use") and not node._retained and not node._hooks:
            # fresh and referenced nowhere else: a leaf may keep it without a copy
            return hand_over(rounded(r, dt))
        low, twin = narrow(r, dt)
        if twin is not None:
            node._grad_twin = (low, twin)
        return low
    return _down(r, dt)


def forget_all() -> None:
    """Drop every `remember`ed pair (autocast does when its outermost region closes)."""
    _twins.clear()
    _recent.clear()


_VARIANTS: dict[type, type] = {}


def in_float32(op: Any) -> Any:
    """The variant of Op class `op` that computes low-precision NumPy inputs in float32."""
    variant = _VARIANTS.get(op)
    if variant is not None:
        return variant

    def forward(ctx, *args: Any, **kwargs: Any) -> Any:
        dts = [a.dtype if is_half_numpy(a) else None for a in args]
        low = next(d for d in dts if d is not None)
        ctx._half_dtypes = dts
        out = op.forward(ctx, *[_up(a) for a in args], **kwargs)
        if isinstance(out, tuple):
            return tuple(_down(o, low) for o in out)
        return _down(out, low)

    def backward(ctx, *grads: Any) -> Any:
        res = op.backward(ctx, *[_up(g) for g in grads])
        if not isinstance(res, tuple):
            res = (res,)
        edges = ctx.next_edges
        if len(edges) != len(res):
            return tuple(_down(r, d) for r, d in zip(res, ctx._half_dtypes))
        return tuple(_down_for(r, d, e) for r, d, e in zip(res, ctx._half_dtypes, edges))

    variant = type(op.__name__, (op,), {"forward": staticmethod(forward),
                                         "backward": staticmethod(backward),
                                         "__module__": op.__module__,
                                         "__qualname__": op.__qualname__})
    _VARIANTS[op] = variant
    return variant
