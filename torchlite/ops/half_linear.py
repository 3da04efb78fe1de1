"""linear (and the ReLU after it) under CPU autocast as one graph node.

Under autocast to float16 or bfloat16, `F.linear(x, W, b)` is, as PyTorch records it, a cast of
each float32 argument, the product in the low dtype, and (in a Sequential) a ReLU node after:
up to five nodes per layer, each with its Python overhead, and each weight cast kept twice
(the low-precision array and its float32 values, see half_compute). Here the layer is one node
that computes the same numbers:

    x32, W32, b32 = float32 values of x, W, b rounded to the low dtype (x as is when low already)
    y = round_low(x32 @ W32.T + b32)            (float32 product, as half_compute's variants)
    y = relu(y) on its bit patterns             (half_relu, with `relu`)

and in the backward the gradients PyTorch's graph gives: the output gradient through the ReLU
on its bits, widened, the float32 products, each result rounded to the low dtype (dx kept low
for a low input; float32 values of the rounded gradient for a float32 input, W and b, which is
what their cast nodes' backward would make of it). The outputs and gradients are bit for bit
those of the unfused ops (tests/amp/test_half_linear.py compares them).

A float32 leaf used more than once in a region (a layer applied twice, tied weights, or another
lowered op on the same weight) must get its uses' gradients added up in the low dtype, through
one shared cast, as in PyTorch. A leaf that an unfused op already cast (autocast's cache) keeps
the unfused path, so it shares that cast; a leaf that fused nodes took into a recorded graph is
given that cast at its next use, and their graph edges to it are moved onto it
(amp.state.share_cast), their gradients for it then in the low dtype (`low_grads`).

The rounded weights are cached for the region, as autocast caches its casts, and dropped when
the outermost region ends (amp.state.rounded). `ENABLED` switches the fusion off (for A/B runs
and the tests).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.owned import hand_over
from . import half_compute
from .half_relu import relu_bits, relu_grad_bits

ENABLED = True
_F32 = half_compute.FLOAT32


def rounded_weight(t, dt: np.dtype, cache: bool, region: dict) -> np.ndarray:
    """float32 tensor `t` rounded to `dt`; a leaf that requires grad once per autocast region
    when `cache`, kept in `region` (autocast's: id -> (leaf, values, dtype, uses), emptied
    when the region ends; `uses` lists the (node, input index) of each fused linear that
    took it, see amp.state.share_cast)."""
    if not cache or not t._requires_grad or t.grad_fn is not None:
        return half_compute.rounded(t._data, dt)
    hit = region.get(id(t))
    if hit is not None and hit[0] is t and hit[2] == dt:
        return hit[1]
    out = half_compute.rounded(t._data, dt)
    region[id(t)] = (t, out, dt, [])
    return out


class HalfLinear(Op):
    """y = round_low(x @ W.T + b), optionally relu'd, from x, W and b rounded by the caller
    (see the module doc). Inputs: x (float32 or the low dtype), W, b (float32 or None), their
    rounded float32 values (x32 None: x is low, or rounded here), the low dtype, `relu`."""

    @staticmethod
    def forward(ctx, x, w, b, x32, w32, b32, dt, relu):
        from ..nn.functional.linear import _affine

        x_low = x.dtype == dt
        if x32 is None:
            x32 = half_compute.widen(x) if x_low else half_compute.rounded(x, dt)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
            y = half_compute.narrow(_affine(x32, w32, b32), dt)[0]
        if relu:
            y = relu_bits(y)
        n = ctx.needs_input_grad  # dx needs only W and dW only x
        ctx.dt, ctx.relu, ctx.has_bias = dt, relu, b is not None
        # the inputs whose gradient goes back in the low dtype: a low x, and the leaves moved
        # onto a shared cast (amp.state.share_cast); the others get float32 rounded values
        ctx.low_grads = frozenset((0,)) if x_low else frozenset()
        ctx.save_for_backward(x32 if n[1] else None, w32 if n[0] else None, y if relu else None)
        ctx.inputs = (x, w)  # for graph_saved (references, not copies)
        return y

    @staticmethod
    def graph_saved(ctx, saved):
        """For a graph of the backward pass: the rounded x and W as casts of the inputs, with
        their history, so that second derivatives reach x and W through them too."""
        from ..autograd.darray import DArray
        from ..autograd.graph_backward import _input_tensor

        x32, w32, y = saved
        dt, (x, w) = ctx.dt, ctx.inputs
        if x32 is not None:
            xt = DArray(_input_tensor(ctx, 0, x))
            x32 = (xt if x.dtype == dt else xt.astype(dt)).astype(_F32)
        if w32 is not None:  # (moved onto a shared cast, the input is that cast's low array)
            low = 1 in ctx.low_grads
            wt = DArray(_input_tensor(ctx, 1, w.astype(dt) if low else w))
            w32 = (wt if low else wt.astype(dt)).astype(_F32)
        return x32, w32, y

    @staticmethod
    def backward(ctx, g):
        from ..nn.functional.linear import affine_grads

        x32, w32, y = ctx.saved_tensors
        dt = ctx.dt
        raw = type(g) is np.ndarray
        if ctx.relu:
            r = relu_grad_bits(g, y) if raw and g.ndim else None
            g = r if r is not None else g * (y > 0)
        g32 = half_compute.widen(g) if raw else g.astype(_F32)
        n = ctx.needs_input_grad
        grads = affine_grads((n[0], n[1], n[2] and ctx.has_bias), x32, w32, g32)
        low = ctx.low_grads
        return tuple(None if a is None else _low(a, dt, raw) if i in low else
                     _rounded_grad(a, dt, raw) for i, a in enumerate(grads)) + (None,) * 5


def _low(a, dt, raw: bool):
    return half_compute.narrow(a, dt)[0] if raw else a.astype(dt)


def _rounded_grad(a, dt, raw: bool):
    """A float32 gradient rounded to `dt`, as float32 (what a cast node's backward hands on);
    fresh and referenced nowhere else, so a leaf may keep it uncopied."""
    if not raw:  # a graph of the backward pass (create_graph): differentiable casts
        return a.astype(dt).astype(_F32)
    return hand_over(half_compute.rounded(a, dt))


def fused(input, weight, bias, relu: bool, dt: np.dtype, cache: bool, region: dict):
    """relu?(linear(input, weight, bias)) under autocast to `dt` as one HalfLinear node, or
    None when this call must take the unfused ops: not NumPy float32 weights and bias, an
    input neither float32 nor `dt`, or shapes the unfused path has an error for. (The caller
    first sends leaves the region already cast or took elsewhere to the unfused ops.)
    `cache` and `region`: see `rounded_weight`."""
    x, w = input._data, weight._data
    if (not ENABLED or type(x) is not np.ndarray or type(w) is not np.ndarray
            or w.dtype is not _F32 or w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]
            or (x.dtype is not _F32 and x.dtype != dt)):
        return None
    b32 = None
    if bias is not None:
        b = bias._data
        if type(b) is not np.ndarray or b.dtype is not _F32 or b.shape != (w.shape[0],):
            return None
        b32 = rounded_weight(bias, dt, cache, region)
    x32 = None if x.dtype is not _F32 else rounded_weight(input, dt, cache, region)
    out = HalfLinear.apply(input, weight, bias, x32, rounded_weight(weight, dt, cache, region),
                           b32, dt, relu)
    node = out.grad_fn
    if node is not None:  # the leaves' uses, for share_cast
        for i, t in enumerate((input, weight, bias)):
            entry = region.get(id(t)) if t is not None else None
            if entry is not None and entry[0] is t:
                entry[3].append((node, i))
    return out
