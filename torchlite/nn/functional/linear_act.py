"""linear followed by an activation, as one graph node.

`nn.Sequential` runs a `Linear` and the plain activation module after it through this Op (see
nn/modules/_fusion.py); nothing outside can observe the pre-activation, so the pair may be one
node. Why it pays:

* on the GPU the bias add and the activation are one kernel launch (`bias_act`), and the
  backward's activation derivative another (`bias_act_grad`), where the two modules launch an
  add, the activation, and a compare and a multiply in the backward;
* on the CPU (ReLU only) the activation runs in place on the product, so no second (N, out)
  array is made, and the graph has one node fewer to build and walk.

On the CPU the results are bit for bit those of the two modules. On the GPU they are the
kernels' (torchlite/_cuda_kernels/activation.py), which follow the CPU formulas to float32
rounding.
"""

from __future__ import annotations

import numpy as np

from ...autograd.function import Op
from ...backend import get_xp
from ...tensor import Tensor
from .linear import _affine, affine_grads, check_linear

# The activations the GPU kernel computes; the CPU fuses only "relu" (see `fuses`).
ACTIVATIONS = ("relu", "sigmoid", "tanh", "silu", "gelu", "gelu_tanh")


def fuses(x, act: str) -> bool:
    """Whether `LinearAct` takes input array `x` with activation `act`: float32/float64 CuPy
    arrays with any of ACTIVATIONS; NumPy arrays with "relu", the one activation whose CPU form
    gains from fusing (it works in place)."""
    if _use_kernel(x):
        return act in ACTIVATIONS
    return get_xp(x) is np and act == "relu"


def _use_kernel(x) -> bool:
    """CuPy float32/float64 arrays go to the bias_act kernel; CPU arrays are fused by NumPy."""
    return get_xp(x) is not np and x.dtype.str in ("<f4", "<f8")


def _kernels():
    from ..._cuda_kernels import activation

    return activation


class LinearAct(Op):
    """y = act(x @ W.T + b) over the last dim of x."""

    @staticmethod
    def forward(ctx, x, w, b, act):
        n = ctx.needs_input_grad
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
            if _use_kernel(x):
                y = x @ w.T
                saved = _kernels().bias_act(y, b, act)  # y in place; y or the pre-activation
            else:
                y = _affine(x, w, b)
                np.maximum(y, 0, out=y)  # relu(-inf) = 0 and NaN stays, as ops.unary.Relu
                saved = y
        ctx.act = act
        ctx.save_for_backward(x if n[1] else None, w if n[0] else None, saved)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, saved = ctx.saved_tensors
        if _use_kernel(g):
            gz = _kernels().bias_act_grad(g, saved, ctx.act)
        else:
            gz = g * (saved > 0)
        gx, gw, gb = affine_grads(ctx.needs_input_grad, x, w, gz)
        return gx, gw, gb, None


def linear_act(input: Tensor, weight: Tensor, bias: Tensor | None, act: str) -> Tensor:
    """act(linear(input, weight, bias)) as one node, for an input and activation that `fuses`
    accepts. Shape: input (*, in), weight (out, in), bias (out,), output (*, out)."""
    bias = check_linear(input, weight, bias)
    if not fuses(input._data, act):
        raise ValueError(
            f"linear_act: activation {act!r} is not fused for {input.dtype} on {input.device} "
            f"(CPU: 'relu'; GPU float32/float64: {', '.join(ACTIVATIONS)})")
    return LinearAct.apply(input, weight, bias, act)
