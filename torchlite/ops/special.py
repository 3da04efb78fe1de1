"""Special functions: erfc, erfinv, lgamma, digamma, polygamma, mvlgamma, sinc, logit.

Written over `xp` with NumPy's and CuPy's common functions (no scipy at import time or at all):
lgamma by Lanczos' series, digamma and polygamma by the recurrence up to x >= 10 and their
asymptotic (Euler-Maclaurin) series, erfinv by Giles' approximation polished with Newton steps.
Forwards evaluate in float64 and round to the input's dtype, so float32 results are correctly
rounded up to an ulp; the derivatives are the same functions over whole arrays (digamma's
derivative is polygamma(1, .), and so on), so they differentiate again.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .elementwise_factory import QUIET, elementwise
from .out import with_out
from .unary import _erf, _float_input, _unary

_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# B_2j / (2j)! for j = 1..7: the Euler-Maclaurin tail of the Hurwitz zeta function
_ZETA_TAIL = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160,
              -691 / 1307674368000, 1 / 74724249600)
# B_2j / (2j) for j = 1..6: the asymptotic series of digamma
_DIGAMMA_TAIL = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760)
_SHIFT = 10  # the recurrences move x past 10, where 6-7 asymptotic terms reach double precision


def _in_float64(fn):
    """fn evaluated in float64 and rounded back to the input's dtype."""
    def run(xp, x):
        return fn(xp, x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)
    return run


def _is_pole(xp, x):
    return (x <= 0) & (xp.floor(x) == x)


def lgamma_array(xp, x):
    """log|Gamma(x)|, +inf at 0 and the negative integers."""
    small = x < 0.5
    z = xp.where(small, 1 - x, x) - 1  # reflect x < 1/2 onto 1 - x > 1/2
    acc = _LANCZOS[0]
    for k, c in enumerate(_LANCZOS[1:], 1):
        acc = acc + c / (z + k)
    t = z + 7.5
    big = _HALF_LOG_2PI + (z + 0.5) * xp.log(t) - t + xp.log(acc)
    refl = math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * x))) - big
    r = xp.where((x == 1) | (x == 2), 0, xp.where(small, refl, big))  # the exact zeros
    return xp.where(_is_pole(xp, x) | xp.isinf(x), xp.inf, r)


def digamma_array(xp, x):
    """d/dx log Gamma(x): -inf at +0, +inf at -0, NaN at the negative integers (as PyTorch)."""
    small = x < 0.5
    y = xp.where(small, 1 - x, x)
    acc = xp.zeros_like(y)
    for _ in range(_SHIFT):  # psi(y) = psi(y + 1) - 1/y
        low = y < _SHIFT
        acc = acc - xp.where(low, 1 / y, 0)
        y = xp.where(low, y + 1, y)
    inv2 = 1 / (y * y)
    tail, p = xp.zeros_like(y), inv2
    for c in _DIGAMMA_TAIL:
        tail = tail + c * p
        p = p * inv2
    psi = acc + xp.log(y) - 0.5 / y - tail
    psi = xp.where(small, psi - math.pi / xp.tan(math.pi * x), psi)
    zero = xp.where(xp.signbit(x), xp.inf, -xp.inf)
    return xp.where(x == 0, zero, xp.where(_is_pole(xp, x), xp.nan, psi))


def polygamma_array(xp, n: int, x):
    """The n-th derivative of digamma: (-1)**(n+1) n! zeta(n + 1, x) for n >= 1."""
    if n == 0:
        return digamma_array(xp, x)
    s = n + 1
    acc, y = xp.zeros_like(x), x
    for _ in range(_SHIFT):  # zeta(s, y) = y**-s + zeta(s, y + 1)
        acc = acc + y ** -s
        y = y + 1
    tail = y ** (1 - s) / (s - 1) + 0.5 * y ** -s
    rising, p = float(s), y ** (-s - 1)
    for j, c in enumerate(_ZETA_TAIL):
        tail = tail + c * rising * p
        rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
        p = p / (y * y)
    zeta = acc + tail
    sign = 1 if n % 2 else -1
    return xp.where(_is_pole(xp, x), xp.inf, sign * math.factorial(n) * zeta)


def _erfc_forward(xp, x):
    if xp is np and x.dtype == np.float64:
        # the C library's erfc: exact to double precision, and no cancellation in the tail
        # (asarray: frompyfunc gives a Python float, not an array, for a 0-d input)
        return np.asarray(np.frompyfunc(math.erfc, 1, 1)(x), dtype=np.float64)
    # Numerical Recipes' erfcc (Chebyshev fit): relative error below 1.2e-7 everywhere
    z = xp.abs(x)
    t = 1 / (1 + 0.5 * z)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    ans = t * xp.exp(-z * z + poly)
    return xp.where(x >= 0, ans, 2 - ans)


def _erfinv_forward(xp, x):
    # Giles' single-precision approximation, then Newton steps on erf(y) = x
    w = -xp.log((1 - x) * (1 + x))
    wa = w - 2.5
    pa = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        pa = c + pa * wa
    wb = xp.sqrt(xp.maximum(w, 5.0)) - 3
    pb = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        pb = c + pb * wb
    y = xp.where(w < 5, pa, pb) * x
    finite = xp.abs(x) < 1
    ya, xa = xp.abs(xp.where(finite, y, 0.0)), xp.abs(x)
    tail = xa > 0.5
    for _ in range(3):
        # near +-1, erf(y) - x loses the digits that log erfc(y) - log(1 - x) keeps (1 - x is
        # exact there, and the log makes Newton converge fast in the tail)
        slope = 2 / math.sqrt(math.pi) * xp.exp(-ya * ya)
        c = _erfc_forward(xp, ya)
        step = xp.where(tail, (xp.log(c) - xp.log(1 - xa)) * c, _erf(xp, ya) - xa) / slope
        ya = ya + xp.where(tail, step, -step)
    edge = xp.where(xa == 1, x * xp.inf, xp.nan)
    return xp.where(finite, xp.where(x < 0, -ya, ya), edge)


def _sinc_forward(xp, x):
    px = x * x.dtype.type(math.pi)
    safe = xp.where(x == 0, x.dtype.type(1), px)
    return xp.where(x == 0, x.dtype.type(1), xp.sin(safe) / safe)


def _sinc_vjp(xp, g, x, out):
    # (cos(pi x) - sinc(x)) / x, 0 at 0
    safe = xp.where(x == 0, 1, x)
    return g * xp.where(x == 0, 0, (xp.cos(math.pi * x) - out) / safe)


Erfc, erfc = _unary("Erfc", _erfc_forward,
                    lambda xp, g, x, o: g * (-2 / math.sqrt(math.pi) * xp.exp(-x * x)), "x",
                    "1 - erf(x), accurate where erf(x) is near 1")
Erfinv, erfinv = _unary("Erfinv", _in_float64(_erfinv_forward),
                        lambda xp, g, x, o: g * (math.sqrt(math.pi) / 2 * xp.exp(o * o)), "out",
                        "the inverse of erf on (-1, 1); +-inf at +-1")
def _psi(xp, n: int, x):
    """polygamma(n, x) in a derivative: the array series, or, when a graph of the backward pass
    is built, the differentiable namespace's polygamma (the Polygamma op below)."""
    own = getattr(xp, "polygamma", None)
    return own(n, x) if own is not None else polygamma_array(xp, n, x)


Lgamma, lgamma = _unary("Lgamma", _in_float64(lgamma_array),
                        lambda xp, g, x, o: g * _psi(xp, 0, x), "x",
                        "log |Gamma(x)|")
Digamma, digamma = _unary("Digamma", _in_float64(digamma_array),
                          lambda xp, g, x, o: g * _psi(xp, 1, x), "x",
                          "the logarithmic derivative of Gamma")
Sinc, sinc = _unary("Sinc", _sinc_forward, _sinc_vjp, "x out", "sin(pi x) / (pi x), 1 at 0")
psi = digamma


def _polygamma_forward(xp, x, n):
    return polygamma_array(xp, n, x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)


Polygamma = elementwise("Polygamma", _polygamma_forward,
                        lambda xp, g, x, out, n: g * _psi(xp, n + 1, x),
                        reads="x", quiet=QUIET)


def polygamma(n: int, input: Tensor, *, out=None) -> Tensor:
    """The n-th derivative of digamma (n = 0 is digamma itself)."""
    if out is not None:
        return with_out(polygamma, "polygamma", out, (n, input))
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(_float_input(input, "polygamma"), n=int(n))


def _logit_forward(xp, x, eps):
    if eps is not None:
        x = xp.clip(x, x.dtype.type(eps), x.dtype.type(1 - eps))
    return xp.log(x / (1 - x))


def _logit_vjp(xp, g, x, out, eps):
    d = g / (x * (1 - x))
    if eps is None:
        return d
    return xp.where((x < eps) | (x > 1 - eps), 0, d)


Logit = elementwise("Logit", _logit_forward, _logit_vjp, reads="x", quiet=QUIET)


def logit(input: Tensor, eps: float | None = None, *, out=None) -> Tensor:
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given (the gradient is 0
    where the clamp acts)."""
    if out is not None:
        return with_out(logit, "logit", out, (input, eps))
    return Logit.apply(_float_input(input, "logit"), eps=None if eps is None else float(eps))


def mvlgamma(input: Tensor, p: int, *, out=None) -> Tensor:
    """The log of the multivariate gamma function of dimension p: sum over j < p of
    lgamma(x - j / 2), plus p (p - 1) / 4 log(pi)."""
    if out is not None:
        return with_out(mvlgamma, "mvlgamma", out, (input, p))
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float_input(input, "mvlgamma")
    total = None
    for j in range(p):
        term = lgamma(x - j / 2)
        total = term if total is None else total + term
    return total + p * (p - 1) / 4 * math.log(math.pi)
