"""torchlite: PyTorch's API on NumPy (CPU) and CuPy (NVIDIA GPU).

`import torchlite as torch` and a PyTorch tutorial runs. Subpackages (nn, optim, utils.data,
datasets, training) are imported on first use to keep `import torchlite` fast.
"""

# ruff: noqa: F401, I001 - this module re-exports the public API, in compact groups
from __future__ import annotations

import importlib
import math as _math
from typing import TYPE_CHECKING

from . import _tensor_methods, autograd, cuda
from .autograd import (
    enable_grad,
    inference_mode,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import (
    bool_ as bool,  # noqa: A001 - torchlite.bool, as torch.bool
)
from .backend import (
    OutOfMemoryError,  # torch.OutOfMemoryError, also torchlite.cuda.OutOfMemoryError
    bfloat16,
    device,
    dtype,
    finfo,
    float16,
    float32,
    float64,
    get_default_device,
    get_default_dtype,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    set_default_device,
    set_default_dtype,
    uint8,
)
from ._compile import compile  # noqa: A004 - torch.compile: returns its argument unchanged
from ._format import set_printoptions
from ._flags import (
    are_deterministic_algorithms_enabled,
    get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled,
    set_float32_matmul_precision,
    use_deterministic_algorithms,
)
from .ops.comparison import (
    all, allclose, any, eq, equal, ge, greater, greater_equal, gt, isclose, isfinite, isinf,  # noqa: A004
    isnan, isneginf, isposinf, le, less, less_equal, lt, ne, not_equal, signbit,
)
from .ops.creation import (
    arange, as_tensor, asarray, bernoulli, clone, empty, empty_like, eye, from_numpy, full,
    full_like, linspace, logspace, multinomial, normal, ones, ones_like, rand, rand_like, randint,
    randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like,
)
from .ops.elementwise import (
    add, arctan2, atan2, div, divide, float_power, floor_divide, fmax, fmin, fmod, maximum,
    minimum, mul, multiply, pow, remainder, rsub, sub, subtract, true_divide,  # noqa: A004
)
from .ops.ternary import addcdiv, addcmul, clamp, clamp_max, clamp_min, clip, lerp, where
from .ops.diagonal import diag, diagonal, tril, triu
from .ops.pairwise import cdist
from .ops.indexing import (
    argwhere, gather, index_add, index_put, index_select, masked_fill, masked_select, nonzero,
    scatter, scatter_add, take, take_along_dim,
)
from .ops.linalg import addmm, bmm, dot, einsum, ger, inner, matmul, mm, mv, outer
from .ops.moments import std, std_mean, var, var_mean
from .ops.reduction import (
    amax, amin, aminmax, argmax, argmin, count_nonzero, cumprod, cumsum, logsumexp, max, mean,  # noqa: A004
    min, norm, prod, sum,  # noqa: A004
)
from .ops.join import (
    cat, chunk, column_stack, concat, concatenate, dsplit, dstack, hsplit, hstack, meshgrid,
    row_stack, split, stack, tensor_split, unbind, vsplit, vstack,
)
from .ops.shape import (
    broadcast_tensors, broadcast_to, flatten, flip, fliplr, flipud, movedim, moveaxis, narrow,
    permute, repeat_interleave, reshape, roll, select, squeeze, swapaxes, swapdims, t, tile,
    transpose, unflatten, unsqueeze,
)
from .ops.softmax import log_softmax, softmax
from .ops.sorting import argsort, kthvalue, median, sort, topk, unique
from .ops.unary import (
    abs, acos, asin, atan, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, ceil, cos, cosh,  # noqa: A004
    erf, exp, exp2, expm1, fix, floor, frac, log, log1p, log2, log10, logical_and, logical_not,
    logical_or, logical_xor, nan_to_num, neg, negative, reciprocal, relu, round, rsqrt, sgn,  # noqa: A004
    sigmoid, sign, sin, sinh, sqrt, square, tan, tanh, trunc,
)
from .ops.unary import (
    acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctanh, asinh, atanh, deg2rad, rad2deg,
)
from .ops.elementwise import copysign, hypot, logaddexp, logaddexp2, nextafter, xlogy
from .ops.special import digamma, erfc, erfinv, lgamma, logit, polygamma, sinc
from .ops.cumulative import cummax, cummin, logcumsumexp
from .ops.bitwise import bitwise_left_shift, bitwise_right_shift
from .ops.elementwise import frexp, heaviside, ldexp
from .ops.integer import gcd, lcm
from .ops.special import mvlgamma
from .ops.unary import positive
from .ops.shape import ravel
from .ops.searching import bucketize, isin, searchsorted
from .ops.histogram import bincount, histc
from .ops.difference import diff
from .ops.index_update import index_copy, index_fill, masked_scatter, put
from .ops.products import addbmm, addmv, addr, baddbmm, cross, kron, tensordot, trace, vdot
from .ops.structured import block_diag, cartesian_prod, diag_embed, tril_indices, triu_indices
from .ops.nan_reductions import nanmean, nansum
from .ops.dtype_rules import can_cast, promote_types, result_type
from .ops.layout import atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, rot90
from .ops.scatter_reduce import scatter_reduce
from .ops.structured import combinations, diagflat, unravel_index, vander
from .ops.integration import cumulative_trapezoid, trapezoid, trapz
from .ops.pairwise import dist
from .ops.renorm import renorm
from .ops.sorting import unique_consecutive
from .ops.creation import frombuffer, poisson, scalar_tensor
from .ops.creation import inclusive_range as range  # noqa: A001 - torch.range (deprecated)
from .ops.real_complex import (
    adjoint, angle, conj, conj_physical, imag, is_complex, is_conj, is_neg, real, resolve_conj,
    resolve_neg,
)
from .ops.statistics import (
    corrcoef, cov, histogram, mode, msort, nanmedian, nanquantile, quantile,
)
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ._legacy_types import (
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor,
    LongTensor, ShortTensor,
)
from .tensor import Size, Tensor
from .backend import qint8, qint32, quint8

# quantized tensors' functions and schemes: imported on first use (see __getattr__)
_LAZY_NAMES = dict.fromkeys((
    "dequantize", "per_channel_affine", "per_channel_affine_float_qparams",
    "per_channel_symmetric", "per_tensor_affine", "per_tensor_symmetric", "qscheme",
    "quantize_per_channel", "quantize_per_tensor"), ".ao.quantization.qtensor")
_LAZY_NAMES.update(dict.fromkeys((
    "fake_quantize_per_channel_affine", "fake_quantize_per_tensor_affine"),
    ".ao.quantization.fake_quantize_ops"))
# names whose modules `torch.tensor([1.0])` does not need: imported on first use too
_LAZY_NAMES.update(dict.fromkeys(("get_num_threads", "set_num_threads"), "._parallel"))
_LAZY_NAMES.update(dict.fromkeys(("load", "save"), ".serialization"))
_LAZY_NAMES.update(dict.fromkeys(("set_flush_denormal",), "._denormal"))
_LAZY_NAMES.update(dict.fromkeys((
    "autocast", "get_autocast_dtype", "is_autocast_available", "is_autocast_enabled"), ".amp"))
_LAZY_NAMES.update(dict.fromkeys(("layout", "sparse_coo", "sparse_csr", "strided"),
                                 ".sparse.layout"))
_LAZY_NAMES.update(dict.fromkeys(("sparse_coo_tensor", "sparse_csr_tensor"), ".sparse"))
# matrix functions: torch.linalg's ops under their older top-level names
_LAZY_NAMES.update(dict.fromkeys((
    "det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "cholesky",
    "cholesky_solve", "cholesky_inverse", "qr", "svd"), ".linalg.legacy"))

if TYPE_CHECKING:  # the names __getattr__ loads, for editors and type checkers
    from . import amp, serialization, sparse
    from ._parallel import get_num_threads, set_num_threads
    from .amp import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled
    from .serialization import load, save
    from .sparse.layout import layout, sparse_coo, sparse_csr, strided

_tensor_methods.install()

__version__ = "0.1.0"

half, double = float16, float64
short, long = int16, int64
float = float32  # noqa: A001 - torchlite.float is float32, as torch.float
int = int32  # noqa: A001

# the default generator object, as torch.default_generator
default_generator = default_generator()

# math constants, as torch.pi, torch.e, torch.inf, torch.nan (Python floats)
pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan

_LAZY = {"nn", "optim", "utils", "datasets", "training", "backends", "accelerator", "profiler",
         "onnx", "cpu", "ao", "quantization", "distributed"}
_LAZY |= {"special"}  # torch.special
_LAZY |= {"amp", "serialization", "sparse"}
_LAZY |= {"linalg", "testing", "distributions", "func"}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'torchlite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY | set(_LAZY_NAMES))


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_nonzero(input: Tensor) -> bool:
    """Whether the single element of input is nonzero (an error for any other size)."""
    return input.is_nonzero()


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return input.is_same_size(other)


def is_signed(input: Tensor) -> bool:
    return input.is_signed()



def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def manual_seed_all(s: int):
    return manual_seed(s)
