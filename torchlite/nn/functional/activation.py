"""Activation functions: each a single Op on raw arrays, its derivative written once over xp."""

from __future__ import annotations

import math

from ... import backend
from ...autograd.function import Op
from ...backend import get_xp
from ...ops import unary as _unary
from ...ops.elementwise_factory import QUIET, elementwise
from ...ops.unary import stable_sigmoid
from ...random import _rng
from ...tensor import Tensor
from ._util import check_float, maybe_inplace
from .dropout import MulMask

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _op(name: str, fwd, vjp):
    """An Op computing fwd(xp, x, **attrs); its gradient is vjp(xp, g, x, out, **attrs)."""
    return elementwise(name, fwd, vjp, reads="x", quiet=QUIET)


def _softplus_raw(xp, x):
    """log(1 + e**x) without overflow."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


LeakyRelu = _op("LeakyRelu", lambda xp, x, slope: xp.where(x > 0, x, x * slope),
                lambda xp, g, x, out, slope: xp.where(x > 0, g, g * slope))
# (ml_dtypes' clip lifts bfloat16 to float32 when given Python bounds: hence the astype)
Hardtanh = _op("Hardtanh", lambda xp, x, lo, hi: xp.clip(x, lo, hi).astype(x.dtype, copy=False),
               lambda xp, g, x, out, lo, hi: xp.where((x > lo) & (x < hi), g, 0))
Elu = _op("Elu", lambda xp, x, alpha, scale: scale * xp.where(x > 0, x, alpha * xp.expm1(x)),
          lambda xp, g, x, out, alpha, scale: g * scale * xp.where(x > 0, 1, alpha * xp.exp(x)))
Celu = _op("Celu", lambda xp, x, alpha: xp.where(x > 0, x, alpha * xp.expm1(x / alpha)),
           lambda xp, g, x, out, alpha: g * xp.where(x > 0, 1, xp.exp(x / alpha)))
Threshold = _op("Threshold", lambda xp, x, th, value: xp.where(x > th, x, value),
                lambda xp, g, x, out, th, value: xp.where(x > th, g, 0))
Silu = _op("Silu", lambda xp, x: x * stable_sigmoid(xp, x),
           lambda xp, g, x, out: g * _silu_grad(xp, x))
Softsign = _op("Softsign", lambda xp, x: x / (1 + xp.abs(x)),
               lambda xp, g, x, out: g / ((1 + xp.abs(x)) ** 2))
Hardsigmoid = _op("Hardsigmoid",
                  lambda xp, x: xp.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False),
                  lambda xp, g, x, out: xp.where((x > -3) & (x < 3), g / 6, 0))
Hardswish = _op("Hardswish",
                lambda xp, x: x * xp.clip(x + 3, 0, 6).astype(x.dtype, copy=False) / 6,
                lambda xp, g, x, out: xp.where(x <= -3, 0, xp.where(x < 3, g * (x / 3 + 0.5), g)))
Softshrink = _op("Softshrink",
                 lambda xp, x, lambd: xp.where(x > lambd, x - lambd,
                                               xp.where(x < -lambd, x + lambd, 0)),
                 lambda xp, g, x, out, lambd: xp.where(xp.abs(x) > lambd, g, 0))
Hardshrink = _op("Hardshrink", lambda xp, x, lambd: xp.where(xp.abs(x) > lambd, x, 0),
                 lambda xp, g, x, out, lambd: xp.where(xp.abs(x) > lambd, g, 0))
Logsigmoid = _op("Logsigmoid", lambda xp, x: -_softplus_raw(xp, -x),
                 lambda xp, g, x, out: g * stable_sigmoid(xp, -x))
Tanhshrink = _op("Tanhshrink", lambda xp, x: x - xp.tanh(x),
                 lambda xp, g, x, out: g * xp.tanh(x) ** 2)


def _silu_grad(xp, x):
    s = stable_sigmoid(xp, x)
    return s * (1 + x * (1 - s))


def _softplus_fwd(xp, x, beta, threshold):
    bx = x * beta
    return xp.where(bx > threshold, x, _softplus_raw(xp, bx) / beta)


def _softplus_bwd(xp, g, x, out, beta, threshold):
    bx = x * beta
    return xp.where(bx > threshold, g, g * stable_sigmoid(xp, bx))


Softplus = _op("Softplus", _softplus_fwd, _softplus_bwd)


def _mish_fwd(xp, x):
    return x * xp.tanh(_softplus_raw(xp, x))


def _mish_bwd(xp, g, x, out):
    t = xp.tanh(_softplus_raw(xp, x))
    return g * (t + x * stable_sigmoid(xp, x) * (1 - t * t))


Mish = _op("Mish", _mish_fwd, _mish_bwd)


def _gelu_fwd(xp, x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + _unary._erf(xp, x * _INV_SQRT_2))


def _gelu_bwd(xp, g, x, out, approximate):
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = xp.tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
    cdf = 0.5 * (1 + _unary._erf(xp, x * _INV_SQRT_2))
    pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
    return g * (cdf + x * pdf)


Gelu = _op("Gelu", _gelu_fwd, _gelu_bwd)


class Prelu(Op):
    """max(0, x) + weight * min(0, x), one weight per channel (dim 1) or one shared."""

    @staticmethod
    def forward(ctx, x, w):
        wb = _prelu_weight(x, w)
        ctx.save_for_backward(x, w)
        return get_xp(x).where(x > 0, x, wb * x)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        xp = get_xp(g)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = xp.where(x > 0, g, _prelu_weight(x, w) * g)
        if ctx.needs_input_grad[1]:
            contrib = xp.where(x > 0, 0, x * g)
            if w.size == 1:
                gw = contrib.sum().reshape(w.shape)
            else:
                axes = tuple(i for i in range(x.ndim) if i != 1)
                gw = contrib.sum(axis=axes).reshape(w.shape)
            gw = gw.astype(w.dtype, copy=False)
        return gx, gw


def _prelu_weight(x, w):
    if w.size == 1:
        return w.reshape(())
    shape = [1] * x.ndim
    shape[1] = w.size
    return w.reshape(shape)


# -- public functions --------------------------------------------------------------------------

def _act(op, input, inplace, fn, **kw):
    check_float(input, fn)
    return maybe_inplace(input, lambda t: op.apply(t, **kw), inplace)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x)."""
    check_float(input, "relu")
    return maybe_inplace(input, _unary.relu, inplace)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6)."""
    return _act(Hardtanh, input, inplace, "relu6", lo=0.0, hi=6.0)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return _act(LeakyRelu, input, inplace, "leaky_relu", slope=float(negative_slope))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _act(Hardtanh, input, inplace, "hardtanh", lo=float(min_val), hi=float(max_val))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _act(Elu, input, inplace, "elu", alpha=float(alpha), scale=1.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    return _act(Elu, input, inplace, "selu", alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _act(Celu, input, inplace, "celu", alpha=float(alpha))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (exact, with erf) or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return _act(Gelu, input, False, "gelu", approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish)."""
    return _act(Silu, input, inplace, "silu")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _act(Mish, input, inplace, "mish")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""
    return _act(Softplus, input, False, "softplus", beta=float(beta), threshold=float(threshold))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return _act(Softsign, input, False, "softsign")


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _act(Hardsigmoid, input, inplace, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    return _act(Hardswish, input, inplace, "hardswish")


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, `value` elsewhere."""
    return _act(Threshold, input, inplace, "threshold", th=float(threshold), value=float(value))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return _act(Softshrink, input, False, "softshrink", lambd=float(lambd))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return _act(Hardshrink, input, False, "hardshrink", lambd=float(lambd))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed without overflow."""
    return _act(Logsigmoid, input, False, "logsigmoid")


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return _act(Tanhshrink, input, False, "tanhshrink")


def sigmoid(input: Tensor) -> Tensor:
    return _unary.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _unary.tanh(input)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x); weight has 1 element or one per channel (dim 1)."""
    check_float(input, "prelu")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.dim() >= 2 else 1
        if input.dim() == 0 or channels != n:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{n} and channel size = {channels}."
            )
    return Prelu.apply(input, weight)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the two halves of `input` along `dim`."""
    check_float(input, "glu")
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim} is size {input.shape[dim]}"
        )
    a, b = input.chunk(2, dim)
    return a * _unary.sigmoid(b)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, *, generator=None) -> Tensor:
    """Randomized leaky ReLU: slopes drawn U(lower, upper) per element in training, their mean
    in eval."""
    check_float(input, "rrelu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = _rng(generator).uniform(lower, upper, size=tuple(input.shape))
    x = input._data
    noise = get_xp(x).where(x > 0, 1, backend.move(slopes.astype(x.dtype), input._device))
    noise = noise.astype(x.dtype)
    return maybe_inplace(input, lambda t: MulMask.apply(t, noise, None), inplace)


def _inplace_variant(fn):
    def f(input: Tensor, *args, **kwargs) -> Tensor:
        return fn(input, *args, inplace=True, **kwargs)

    f.__name__ = fn.__name__ + "_"
    f.__doc__ = f"In-place {fn.__name__} (see `maybe_inplace`)."
    return f


elu_ = _inplace_variant(elu)
selu_ = _inplace_variant(selu)
celu_ = _inplace_variant(celu)
leaky_relu_ = _inplace_variant(leaky_relu)
hardtanh_ = _inplace_variant(hardtanh)
threshold_ = _inplace_variant(threshold)
rrelu_ = _inplace_variant(rrelu)
