"""Tensor's math methods: arithmetic, unary functions, reductions, sorting, comparisons and
linear algebra, each the torchlite function of the same name with the tensor as first argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .ops import (
    bitwise,
    cumulative,
    histogram,
    integer,
    linalg,
    moments,
    nan_reductions,
    products,
    sorting,
    special,
    structured,
    unary,
)
from .ops import comparison as cmp
from .ops import diagonal as diag_ops
from .ops import elementwise as ew
from .ops import reduction as red
from .ops import softmax as sm
from .ops import ternary as tern
from .tensor import Tensor


def abs_any(self: Tensor) -> Tensor:
    """|x|, elementwise (integer and bool tensors too)."""
    if self._data.dtype.kind in "iub":
        return Tensor._make(np.abs(self._data) if self._device.type == "cpu"
                            else backend.get_xp(self._data).abs(self._data), self._device)
    return unary.abs(self)


def neg_any(self: Tensor) -> Tensor:
    """-x, elementwise."""
    return unary.neg(self)


class ArithmeticMethods:
    """Elementwise arithmetic and unary functions (`add`, `clamp`, `exp`, `sigmoid`, ...)."""

    __slots__ = ()

    add = ew.add
    sub = subtract = ew.sub
    mul = multiply = ew.mul
    div = divide = true_divide = ew.div
    floor_divide = ew.floor_divide
    remainder = ew.remainder
    fmod = ew.fmod
    pow = float_power = ew.pow
    rsub = ew.rsub
    maximum = ew.maximum
    minimum = ew.minimum
    atan2 = arctan2 = ew.atan2
    clamp = clip = tern.clamp
    clamp_min = tern.clamp_min
    clamp_max = tern.clamp_max
    lerp = tern.lerp
    addcmul = tern.addcmul
    addcdiv = tern.addcdiv

    def where(self: Any, condition: Tensor, other: Any) -> Tensor:
        """`self` where `condition` holds, else `other`: torchlite.where(condition, self, other)."""
        return tern.where(condition, self, other)

    abs = absolute = abs_any
    neg = negative = neg_any
    exp = unary.exp
    exp2 = unary.exp2
    expm1 = unary.expm1
    log = unary.log
    log2 = unary.log2
    log10 = unary.log10
    log1p = unary.log1p
    sqrt = unary.sqrt
    rsqrt = unary.rsqrt
    sin = unary.sin
    cos = unary.cos
    tan = unary.tan
    asin = unary.asin
    acos = unary.acos
    atan = unary.atan
    sinh = unary.sinh
    cosh = unary.cosh
    tanh = unary.tanh
    sigmoid = unary.sigmoid
    relu = unary.relu
    reciprocal = unary.reciprocal
    erf = unary.erf
    square = unary.square
    sign = sgn = unary.sign
    floor = unary.floor
    ceil = unary.ceil
    round = unary.round
    trunc = unary.trunc
    frac = unary.frac
    nan_to_num = unary.nan_to_num
    logical_not = unary.logical_not
    logical_and = unary.logical_and
    logical_or = unary.logical_or
    logical_xor = unary.logical_xor
    bitwise_not = unary.bitwise_not
    bitwise_and = bitwise.bitwise_and
    bitwise_or = bitwise.bitwise_or
    bitwise_xor = bitwise.bitwise_xor
    bitwise_left_shift = bitwise.bitwise_left_shift
    bitwise_right_shift = bitwise.bitwise_right_shift
    asinh = arcsinh = unary.asinh
    acosh = arccosh = unary.acosh
    atanh = arctanh = unary.atanh
    arcsin = unary.asin
    arccos = unary.acos
    arctan = unary.atan
    deg2rad = unary.deg2rad
    rad2deg = unary.rad2deg
    erfc = special.erfc
    erfinv = special.erfinv
    lgamma = special.lgamma
    digamma = special.digamma
    sinc = special.sinc
    logit = special.logit
    logaddexp = ew.logaddexp
    logaddexp2 = ew.logaddexp2
    copysign = ew.copysign
    hypot = ew.hypot
    nextafter = ew.nextafter
    xlogy = ew.xlogy

    fmax = ew.fmax
    fmin = ew.fmin
    fix = unary.fix
    positive = unary.positive
    heaviside = ew.heaviside
    ldexp = ew.ldexp
    frexp = ew.frexp
    gcd = integer.gcd
    lcm = integer.lcm
    mvlgamma = special.mvlgamma
    isneginf = cmp.isneginf
    isposinf = cmp.isposinf

    def polygamma(self: Any, n: int) -> Tensor:
        """The n-th derivative of digamma at each element: torchlite.polygamma(n, self)."""
        return special.polygamma(n, self)


class ReductionMethods:
    """Reductions, scans and sorting (`sum`, `mean`, `max`, `cumsum`, `sort`, `topk`, ...)."""

    __slots__ = ()

    sum = red.sum
    mean = red.mean
    var = moments.var
    std = moments.std
    prod = red.prod
    max = red.max
    min = red.min
    amax = red.amax
    amin = red.amin
    aminmax = red.aminmax
    argmax = red.argmax
    argmin = red.argmin
    logsumexp = red.logsumexp
    norm = red.norm
    cumsum = red.cumsum
    cumprod = red.cumprod
    cummax = cumulative.cummax
    bincount = histogram.bincount
    nansum = nan_reductions.nansum
    nanmean = nan_reductions.nanmean
    histc = histogram.histc
    cummin = cumulative.cummin
    logcumsumexp = cumulative.logcumsumexp
    count_nonzero = red.count_nonzero
    all = cmp.all
    any = cmp.any
    sort = sorting.sort
    argsort = sorting.argsort
    topk = sorting.topk
    unique = sorting.unique
    kthvalue = sorting.kthvalue
    median = sorting.median
    softmax = sm.softmax
    log_softmax = sm.log_softmax

    def dist(self, other, p=2):
        from .ops.pairwise import dist

        return dist(self, other, p)

    def renorm(self, p, dim, maxnorm):
        from .ops.renorm import renorm

        return renorm(self, p, dim, maxnorm)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        from .ops.sorting import unique_consecutive

        return unique_consecutive(self, return_inverse, return_counts, dim)

    # order and moment statistics
    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _statistics().quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _statistics().nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanmedian(self, dim=None, keepdim=False):
        return _statistics().nanmedian(self, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return _statistics().mode(self, dim, keepdim)

    def msort(self):
        return _statistics().msort(self)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        return _statistics().cov(self, correction=correction, fweights=fweights,
                                 aweights=aweights)

    def corrcoef(self):
        return _statistics().corrcoef(self)

    def histogram(self, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
        return _statistics().histogram(self, bins, range=range, weight=weight, density=density)


class ComparisonMethods:
    """Elementwise comparisons and tests (`eq`, `lt`, `isnan`, `allclose`, ...)."""

    __slots__ = ()

    eq = cmp.eq
    ne = not_equal = cmp.ne
    lt = less = cmp.lt
    le = less_equal = cmp.le
    gt = greater = cmp.gt
    ge = greater_equal = cmp.ge
    isnan = cmp.isnan
    isinf = cmp.isinf
    isfinite = cmp.isfinite
    allclose = cmp.allclose
    isclose = cmp.isclose
    equal = cmp.equal
    signbit = cmp.signbit


class LinalgMethods:
    """Matrix products, diagonals and triangles (`matmul`, `mm`, `diagonal`, `tril`, ...)."""

    __slots__ = ()

    matmul = linalg.matmul
    mm = linalg.mm
    bmm = linalg.bmm
    mv = linalg.mv
    dot = linalg.dot
    outer = ger = linalg.outer
    addmm = linalg.addmm
    tril = diag_ops.tril
    triu = diag_ops.triu
    diag = diag_ops.diag
    diagonal = diag_ops.diagonal
    addbmm = products.addbmm
    addmv = products.addmv
    addr = products.addr
    baddbmm = products.baddbmm
    cross = products.cross
    kron = products.kron
    trace = products.trace
    vdot = products.vdot
    diag_embed = structured.diag_embed

    def inner(self, other):
        from .ops.linalg import inner

        return inner(self, other)

    def prelu(self, weight):
        from .nn.functional import prelu

        return prelu(self, weight)

    def hardshrink(self, lambd: float = 0.5):
        from .nn.functional import hardshrink

        return hardshrink(self, lambd)

    def diagflat(self, offset: int = 0):
        from .ops.structured import diagflat

        return diagflat(self, offset)

    def adjoint(self):
        from .ops.real_complex import adjoint

        return adjoint(self)

    # the matrix functions (torchlite.linalg, imported on their first call)
    def det(self):
        return _legacy().det(self)

    def logdet(self):
        return _legacy().logdet(self)

    def slogdet(self):
        return _legacy().slogdet(self)

    def inverse(self):
        return _legacy().inverse(self)

    def pinverse(self, rcond: float = 1e-15):
        return _legacy().pinverse(self, rcond)

    def matrix_power(self, n: int):
        return _legacy().matrix_power(self, n)

    def cholesky(self, upper: bool = False):
        return _legacy().cholesky(self, upper)

    def cholesky_solve(self, input2, upper: bool = False):
        return _legacy().cholesky_solve(self, input2, upper)

    def cholesky_inverse(self, upper: bool = False):
        return _legacy().cholesky_inverse(self, upper)

    def qr(self, some: bool = True):
        return _legacy().qr(self, some)

    def svd(self, some: bool = True, compute_uv: bool = True):
        return _legacy().svd(self, some, compute_uv)


def _legacy():
    from .linalg import legacy

    return legacy


def _statistics():
    from .ops import statistics

    return statistics
