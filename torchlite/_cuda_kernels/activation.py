"""Bias + activation in one kernel (out = act(y + b), in place or into another array), and its
backward.

The activations follow torchlite's CPU formulas (torchlite/nn/functional/activation.py and
ops/unary.py): the overflow-free sigmoid, silu = x * sigmoid(x), gelu with erf or its tanh
approximation. ReLU, sigmoid and tanh take their derivative from the output, so the forward
saves nothing; gelu and silu need the pre-activation y + b, which the same launch writes to a
second array. `bias_act` returns whichever array `bias_act_grad` needs. The bias gradient is the
sum of `bias_act_grad`'s result over the broadcast axes (left to the caller).

`b` broadcasts against `y` as in NumPy: shape (features,) for a Linear output (N, features),
(C, 1, 1) for a convolution's (N, C, H, W).
"""

from __future__ import annotations

import math

import numpy as np

from . import _common

__all__ = ["ACTIVATIONS", "bias_act", "bias_act_grad", "bias_act_grad_reference",
           "bias_act_reference", "saves_output"]

ACTIVATIONS = (None, "relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh")
_FROM_OUTPUT = (None, "relu", "sigmoid", "tanh")

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

PREAMBLE = r"""
template <typename U> __device__ __forceinline__ U tl_sigmoid(U x) {
    U e = exp(-fabs(x));
    return x >= (U)0 ? (U)1 / ((U)1 + e) : e / ((U)1 + e);
}
""" + f"""
#define TL_SQRT_2_OVER_PI {_SQRT_2_OVER_PI!r}
#define TL_INV_SQRT_2 {_INV_SQRT_2!r}
#define TL_INV_SQRT_2PI {_INV_SQRT_2PI!r}
"""

# act(z), as a C expression in z
FORWARD = {
    None: "z",
    "relu": "((z > (T)0 || z != z) ? z : (T)0)",
    "sigmoid": "tl_sigmoid(z)",
    "tanh": "tanh(z)",
    "silu": "z * tl_sigmoid(z)",
    "gelu": "(T)0.5 * z * ((T)1 + erf(z * (T)TL_INV_SQRT_2))",
    "gelu_tanh": "(T)0.5 * z * ((T)1 + tanh((T)TL_SQRT_2_OVER_PI * "
                 "(z + (T)0.044715 * z * z * z)))",
}

# gz from g and s (the output for relu/sigmoid/tanh, the pre-activation for gelu/silu)
BACKWARD = {
    None: "gz = g;",
    "relu": "gz = g * (T)(s > (T)0);",
    "sigmoid": "gz = g * (s * ((T)1 - s));",
    "tanh": "gz = g * ((T)1 - s * s);",
    "silu": "T sg = tl_sigmoid(s); gz = g * (sg * ((T)1 + s * ((T)1 - sg)));",
    "gelu": "T cdf = (T)0.5 * ((T)1 + erf(s * (T)TL_INV_SQRT_2)); "
            "T pdf = (T)TL_INV_SQRT_2PI * exp((T)-0.5 * s * s); gz = g * (cdf + s * pdf);",
    "gelu_tanh": "T t = tanh((T)TL_SQRT_2_OVER_PI * (s + (T)0.044715 * s * s * s)); "
                 "T d = (T)TL_SQRT_2_OVER_PI * ((T)1 + (T)(3 * 0.044715) * s * s); "
                 "gz = g * ((T)0.5 * ((T)1 + t) + (T)0.5 * s * ((T)1 - t * t) * d);",
}


def saves_output(act) -> bool:
    """Whether `bias_act` hands back its output (else the pre-activation) for the backward."""
    _check_act(act)
    return act in _FROM_OUTPUT


def _check_act(act) -> None:
    if act not in ACTIVATIONS:
        raise ValueError(f"bias_act: unknown activation {act!r}; expected one of "
                         f"{', '.join(map(str, ACTIVATIONS))}")


def forward_kernel_spec(act) -> tuple[str, str, str]:
    """(in_params, out_params, operation) of the forward ElementwiseKernel."""
    if act in _FROM_OUTPUT:
        return "T x, T b", "T y", f"T z = x + b; y = {FORWARD[act]};"
    return "T x, T b", "T y, T pre", f"T z = x + b; pre = z; y = {FORWARD[act]};"


def backward_kernel_spec(act) -> tuple[str, str, str]:
    return "T g, T s", "T gz", BACKWARD[act]


def _elementwise(kind: str, act):
    spec = forward_kernel_spec(act) if kind == "fwd" else backward_kernel_spec(act)
    name = f"tl_bias_act_{kind}_{act or 'none'}"
    return _common.kernel((name,), lambda cp: cp.ElementwiseKernel(
        *spec, name=name, preamble=PREAMBLE, options=_common.EXACT))


def bias_act(y, b=None, act=None, out=None):
    """out <- act(y + b) on cupy arrays (one launch); `out` defaults to `y` itself (in place)
    and `y` may be any strided view; `b` broadcasts to `y` (None: no bias). Returns the array
    `bias_act_grad` takes: `out` for None, relu, sigmoid and tanh, a new array holding y + b
    for gelu, gelu_tanh and silu.

    Shape: y (*), b broadcastable to y, out y's shape.
    """
    _check_act(act)
    _common.ctype(y.dtype)
    cp = _common.cupy()
    bias = y.dtype.type(0) if b is None else b
    dst = y if out is None else out
    k = _elementwise("fwd", act)
    if act in _FROM_OUTPUT:
        k(y, bias, dst)
        return dst
    pre = cp.empty_like(dst)
    k(y, bias, dst, pre)
    return pre


def bias_act_grad(g, saved, act=None, out=None):
    """The gradient with respect to y + b (and, summed over broadcast axes, b) from the
    gradient `g` of the output and what `bias_act` returned (one launch)."""
    _check_act(act)
    _common.ctype(g.dtype)
    k = _elementwise("bwd", act)
    return k(g, saved) if out is None else k(g, saved, out)


# -- NumPy references --------------------------------------------------------------------------


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to double precision (CUDA's erf is within 2 ulp), rounded to x's dtype."""
    return np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)).astype(np.float64).astype(
        x.dtype)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def _act_reference(z: np.ndarray, act) -> np.ndarray:
    T = z.dtype.type
    if act is None:
        return z
    if act == "relu":
        return np.where((z > 0) | np.isnan(z), z, T(0))
    if act == "sigmoid":
        return _sigmoid(z)
    if act == "tanh":
        return np.tanh(z)
    if act == "silu":
        return z * _sigmoid(z)
    if act == "gelu":
        return T(0.5) * z * (T(1) + _erf(z * T(_INV_SQRT_2)))
    inner = T(_SQRT_2_OVER_PI) * (z + T(0.044715) * z * z * z)
    return T(0.5) * z * (T(1) + np.tanh(inner))


def bias_act_reference(y: np.ndarray, b=None, act=None, out=None) -> np.ndarray:
    """`bias_act` in NumPy (into `out`, by default `y`; returns what the backward takes)."""
    _check_act(act)
    dst = y if out is None else out
    with np.errstate(over="ignore", invalid="ignore"):
        z = y + (b if b is not None else y.dtype.type(0))
        dst[...] = _act_reference(z, act)
    return dst if act in _FROM_OUTPUT else z


def bias_act_grad_reference(g: np.ndarray, s: np.ndarray, act=None) -> np.ndarray:
    """`bias_act_grad` in NumPy."""
    _check_act(act)
    T = g.dtype.type
    with np.errstate(over="ignore", invalid="ignore"):
        if act is None:
            return g.copy()
        if act == "relu":
            return g * (s > 0).astype(g.dtype)
        if act == "sigmoid":
            return g * (s * (T(1) - s))
        if act == "tanh":
            return g * (T(1) - s * s)
        if act == "silu":
            sg = _sigmoid(s)
            return g * (sg * (T(1) + s * (T(1) - sg)))
        if act == "gelu":
            cdf = T(0.5) * (T(1) + _erf(s * T(_INV_SQRT_2)))
            pdf = T(_INV_SQRT_2PI) * np.exp(T(-0.5) * s * s)
            return g * (cdf + s * pdf)
        t = np.tanh(T(_SQRT_2_OVER_PI) * (s + T(0.044715) * s * s * s))
        d = T(_SQRT_2_OVER_PI) * (T(1) + T(3 * 0.044715) * s * s)
        return g * (T(0.5) * (T(1) + t) + T(0.5) * s * (T(1) - t * t) * d)
