"""torchlite.special: PyTorch's torch.special namespace.

The functions live with their families in torchlite.ops (special, unary, elementwise,
reduction, softmax); this module gives them PyTorch's torch.special names and adds the few that
are compositions of them: ndtr, ndtri, log_ndtr, xlog1py, entr.
"""

from __future__ import annotations

import math

from .ops.comparison import isnan
from .ops.elementwise import mul, xlogy
from .ops.reduction import logsumexp
from .ops.softmax import log_softmax, softmax
from .ops.special import digamma, erfc, erfinv, logit, polygamma, sinc
from .ops.special import lgamma as gammaln
from .ops.special import mvlgamma as multigammaln
from .ops.ternary import where
from .ops.unary import erf, exp2, expm1, log, log1p, round  # noqa: A004
from .ops.unary import sigmoid as expit
from .tensor import Tensor

psi = digamma

__all__ = ["digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln",
           "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr",
           "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]

_SQRT2 = math.sqrt(2.0)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF: (1 + erf(x / sqrt(2))) / 2, computed as erfc(-x / sqrt(2)) / 2
    so the lower tail keeps its digits."""
    return erfc(input * (-1 / _SQRT2)) * 0.5


def ndtri(input: Tensor) -> Tensor:
    """The inverse of ndtr: sqrt(2) * erfinv(2p - 1)."""
    return erfinv(input * 2 - 1) * _SQRT2


def log_ndtr(input: Tensor) -> Tensor:
    """log(ndtr(x)): log1p(-ndtr(-x)) above 0; far in the lower tail (x < -5), erfc's
    Chebyshev fit taken in log space (erfc(z) = t exp(-z^2 + P(t))), which does not underflow."""
    z = input * (-1 / _SQRT2)
    zs = where(input < -5, z, z * 0 + 5)  # the tail branch only ever sees large z
    t = 1 / (zs * 0.5 + 1)
    poly = t * 0.17087277 - 0.82215223
    for c in (1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
              1.00002368, -1.26551223):
        poly = poly * t + c
    tail = log(t) - zs * zs + poly + math.log(0.5)
    mid = log(ndtr(where(input < -5, input * 0, input)))
    upper = log1p(-ndtr(-where(input > 0, input, input * 0)))  # log(1 - small): log1p
    return where(input < -5, tail, where(input > 0, upper, mid))


def xlog1py(input, other) -> Tensor:
    """input * log1p(other), 0 where input is 0 (unless other is NaN)."""
    a, b = input, other
    if not isinstance(b, Tensor):
        from .ops.creation import full_like

        b = full_like(a, b)
    zero = (a == 0) & ~isnan(b)
    return where(zero, 0.0, mul(a, log1p(where(zero, b * 0, b))))


def entr(input: Tensor) -> Tensor:
    """The elementwise entropy -x log(x): 0 at 0, -inf for x < 0."""
    safe = where(input > 0, input, input * 0 + 1)
    out = where(input > 0, -(safe * log(safe)), input * 0)
    return where(input < 0, input * 0 - math.inf, out)
