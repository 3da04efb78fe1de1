"""A layer's bias add and the activation after it, fused into the layer's graph node.

`nn.Sequential` runs a `Linear` or `Conv2d` and the plain activation module after it as one
node (see nn/modules/_fusion.py): nothing outside can observe the pre-activation. Why it pays:

* on the GPU the bias add and the activation are one kernel launch (`bias_act`), and the
  backward's activation derivative another (`bias_act_grad`), where the two modules launch an
  add, the activation, and a compare and a multiply in the backward;
* on the CPU (ReLU only) the activation runs in place on the layer's output, so no second
  output-sized array is made, and the graph has one node fewer to build and walk.

On the CPU the results are bit for bit those of the two modules. On the GPU they are the
kernels' (torchlite/_cuda_kernels/activation.py), which follow the CPU formulas to float32
rounding. `linear_act` is here; `conv2d_act` is in conv.py, over the same two helpers.
"""

from __future__ import annotations

import numpy as np

from ...amp import state as _amp
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.unary import relu_forward, relu_vjp
from ...tensor import Tensor
from .linear import _affine, affine_grads, check_linear

# The activations the GPU kernel computes; the CPU fuses only "relu" (see `fuses`).
ACTIVATIONS = ("relu", "sigmoid", "tanh", "silu", "gelu", "gelu_tanh")


def fuses(x, act: str, b=None) -> bool:
    """Whether `LinearAct` (or a Conv2dOp with `act`) takes input array `x`, activation `act`
    and bias array `b`: float32/float64 CuPy arrays with any of ACTIVATIONS; floating NumPy
    arrays with "relu", the one activation whose CPU form gains from fusing (it works in
    place). A bias of another dtype is not fused (the kernel takes one dtype; the unfused add
    casts), and neither is an integer input (the activation module refuses it). Under
    autocast, and for float16/bfloat16 NumPy arrays (computed in float32 by the unfused ops),
    nothing is fused."""
    if _amp.on or (b is not None and b.dtype != x.dtype):
        return False
    if _use_kernel(x):
        return act in ACTIVATIONS
    return get_xp(x) is np and x.dtype.kind == "f" and x.dtype.itemsize > 2 and act == "relu"


def _use_kernel(x) -> bool:
    """CuPy float32/float64 arrays go to the bias_act kernel; CPU arrays are fused by NumPy."""
    # (a CuPy array, not a graph pass's differentiable stand-in, whose xp is not np either)
    return hasattr(x, "__cuda_array_interface__") and x.dtype.str in ("<f4", "<f8")


def _kernels():
    from ..._cuda_kernels import activation

    return activation


def bias_act(src, b, act: str, out):
    """out <- act(src + b), `src` any (strided) array or `out` itself, `b` broadcastable or
    None; returns what `bias_act_grad` takes (out, or for gelu/silu the pre-activation)."""
    if _use_kernel(src):
        return _kernels().bias_act(src, b, act, out=None if out is src else out)
    if b is not None:
        np.add(src, b, out=out)
    elif out is not src:
        out[...] = src
    return relu_forward(np, out, out)  # in place: ops.unary.Relu's forward


def bias_act_grad(g, saved, act: str):
    """The gradient with respect to the pre-activation, from the output's `g`."""
    if _use_kernel(g):
        return _kernels().bias_act_grad(g, saved, act)
    return relu_vjp(np, g, None, saved)


class LinearAct(Op):
    """y = act(x @ W.T + b) over the last dim of x."""

    @staticmethod
    def forward(ctx, x, w, b, act):
        n = ctx.needs_input_grad
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
            if _use_kernel(x):  # the kernel adds the bias
                y = x @ w.T
                saved = bias_act(y, b, act, y)
            else:  # _affine adds the bias in the pass that may transpose the product
                y = _affine(x, w, b)
                saved = bias_act(y, None, act, y)
        ctx.act = act
        ctx.save_for_backward(x if n[1] else None, w if n[0] else None, saved)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, saved = ctx.saved_tensors
        gx, gw, gb = affine_grads(ctx.needs_input_grad, x, w, bias_act_grad(g, saved, ctx.act))
        return gx, gw, gb, None


def linear_act(input: Tensor, weight: Tensor, bias: Tensor | None, act: str) -> Tensor:
    """act(linear(input, weight, bias)) as one node, for an input and activation that `fuses`
    accepts. Shape: input (*, in), weight (out, in), bias (out,), output (*, out)."""
    bias = check_linear(input, weight, bias)
    check_fuses("linear_act", input, act, bias)
    return LinearAct.apply(input, weight, bias, act)


def check_fuses(op: str, input: Tensor, act: str, bias: Tensor | None) -> None:
    if not fuses(input._data, act, None if bias is None else bias._data):
        raise ValueError(
            f"{op}: activation {act!r} is not fused for a {input.dtype} input"
            f"{'' if bias is None else f' and {bias.dtype} bias'} on {input.device} (CPU: "
            f"'relu' on floats; GPU: {', '.join(ACTIVATIONS)} on float32/float64, bias alike)")
