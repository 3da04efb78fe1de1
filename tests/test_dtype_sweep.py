"""dtype sweep: every differentiable op keeps float32 (float64, float16, bfloat16) in its output
and its grads; integer tensors stay integer where PyTorch keeps them so."""

import inspect

import numpy as np
import pytest
from _bf16 import BF16

import torchlite
from torchlite.ops import (
    diagonal,
    elementwise,
    indexing,
    join,
    linalg,
    pairwise,
    reduction,
    shape,
    softmax,
    sorting,
    unary,
)
from torchlite.ops import pad as pad_module
from torchlite.ops.pad import pad

I = torchlite.tensor
# float16 and bfloat16 as PyTorch's CPU kernels: same dtype out, products and sums in float32
FLOATS = [torchlite.float32, torchlite.float64, torchlite.float16, BF16]
POS = "pos"  # values in [0.5, 2]
UNIT = "unit"  # values in (-0.9, 0.9)

# op name -> (function of the input tensors, input shapes, domain)
SWEEP = {
    # elementwise
    "add": (lambda a, b: torchlite.add(a, b, alpha=2), [(2, 3), (3,)], None),
    "sub": (lambda a, b: a - b, [(2, 3), ()], None),
    "rsub": (lambda a, b: torchlite.rsub(a, b), [(2, 3), (2, 3)], None),
    "mul": (lambda a, b: a * b, [(2, 1), (1, 3)], None),
    "div": (lambda a, b: a / b, [(2, 3), (2, 3)], POS),
    "pow": (lambda a, b: a**b, [(2, 3), (2, 3)], POS),
    "float_power": (lambda a, b: torchlite.float_power(a, b), [(2, 3), (3,)], POS),
    "maximum": (torchlite.maximum, [(2, 3), (2, 3)], None),
    "atan2": (torchlite.atan2, [(2, 3), (2, 3)], None),
    "minimum": (torchlite.minimum, [(2, 3), (2, 3)], None),
    "fmax": (torchlite.fmax, [(2, 3), (2, 3)], None),
    "fmin": (torchlite.fmin, [(2, 3), (2, 3)], None),
    "remainder": (lambda a, b: a % b, [(2, 3), (2, 3)], POS),
    "fmod": (torchlite.fmod, [(2, 3), (2, 3)], POS),
    "where": (lambda a, b: torchlite.where(a > 0, a, b), [(2, 3), (2, 3)], None),
    "clamp": (lambda a, b: torchlite.clamp(a, min=b, max=b + 1), [(2, 3), (2, 3)], None),
    "clamp_min": (lambda a: torchlite.clamp_min(a, 0.1), [(2, 3)], None),
    "clamp_max": (lambda a: torchlite.clamp_max(a, 0.1), [(2, 3)], None),
    "lerp": (lambda a, b: torchlite.lerp(a, b, 0.3), [(2, 3), (2, 3)], None),
    "lerp_high": (lambda a, b: torchlite.lerp(a, b, 0.8), [(2, 3), (2, 3)], None),
    "column_stack": (lambda a, b: torchlite.column_stack([a, b]), [(3,), (3, 2)], None),
    "row_stack": (lambda a, b: torchlite.row_stack([a, b]), [(3,), (2, 3)], None),
    "dstack": (lambda a, b: torchlite.dstack([a, b]), [(2, 3), (2, 3)], None),
    "hsplit": (lambda a: torchlite.hsplit(a, [1])[1], [(2, 3)], None),
    "vsplit": (lambda a: torchlite.vsplit(a, 2)[0], [(2, 3)], None),
    "dsplit": (lambda a: torchlite.dsplit(a, [1])[0], [(2, 3, 2)], None),
    "dist": (lambda a, b: torchlite.dist(a, b, 3), [(2, 3), (3,)], POS),
    "addcmul": (lambda a, b: torchlite.addcmul(a, a, b, value=0.5), [(2, 3), (2, 3)], None),
    "addcdiv": (lambda a, b: torchlite.addcdiv(a, a, b, value=0.5), [(2, 3), (2, 3)], POS),
    "scalar_ops": (lambda a: (a * 2.5 + a * np.float64(2) - a / 3 + 3 / a - 2 ** a + a ** 2
                              + a * np.float32(1.5) + np.float64(0.5) * a - a.mean()),
                   [(2, 3)], POS),
    # reductions
    "sum": (lambda a: a.sum(1), [(2, 3)], None),
    "mean": (lambda a: a.mean(), [(2, 3)], None),
    "var": (lambda a: a.var(0), [(2, 3)], None),
    "std": (lambda a: torchlite.std(a, 1, correction=0), [(2, 3)], None),
    "std_mean": (lambda a: torchlite.std_mean(a, 1), [(2, 3)], None),
    "var_mean": (lambda a: torchlite.var_mean(a, 1), [(2, 3)], None),
    "prod": (lambda a: a.prod(1), [(2, 3)], None),
    "max": (lambda a: (a.max(), a.max(1).values), [(2, 3)], None),
    "min": (lambda a: (a.min(), a.min(0)[0]), [(2, 3)], None),
    "amax": (lambda a: torchlite.amax(a, 1), [(2, 3)], None),
    "amin": (lambda a: torchlite.amin(a, 0), [(2, 3)], None),
    "aminmax": (lambda a: tuple(torchlite.aminmax(a, dim=1)), [(2, 3)], None),
    "logsumexp": (lambda a: a.logsumexp(1), [(2, 3)], None),
    "norm": (lambda a: (a.norm(), a.norm(1, 1), a.norm(3), a.norm(float("inf"))), [(2, 3)], None),
    "cumsum": (lambda a: a.cumsum(1), [(2, 3)], None),
    "cumprod": (lambda a: torchlite.cumprod(a, 1), [(2, 3)], None),
    # linear algebra
    "matmul": (lambda a, b: a @ b, [(2, 3), (3, 2)], None),
    "mm": (torchlite.mm, [(2, 3), (3, 2)], None),
    "bmm": (torchlite.bmm, [(2, 2, 3), (2, 3, 2)], None),
    "mv": (torchlite.mv, [(2, 3), (3,)], None),
    "dot": (torchlite.dot, [(3,), (3,)], None),
    "inner": (torchlite.inner, [(3,), (3,)], None),
    "outer": (torchlite.outer, [(2,), (3,)], None),
    "ger": (torchlite.ger, [(2,), (3,)], None),
    "addmm": (lambda c, a, b: torchlite.addmm(c, a, b, beta=0.5), [(2, 2), (2, 3), (3, 2)], None),
    "einsum": (lambda a, b: torchlite.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)], None),
    # shape
    "reshape": (lambda a: a.reshape(3, 2), [(2, 3)], None),
    "view": (lambda a: a.view(-1), [(2, 3)], None),
    "flatten": (torchlite.flatten, [(2, 3)], None),
    "unflatten": (lambda a: a.unflatten(1, (3, 1)), [(2, 3)], None),
    "squeeze": (lambda a: a.squeeze(), [(2, 1, 3)], None),
    "unsqueeze": (lambda a: a.unsqueeze(0), [(2, 3)], None),
    "transpose": (lambda a: a.transpose(0, 1), [(2, 3)], None),
    "swapaxes": (lambda a: torchlite.swapaxes(a, 0, 1), [(2, 3)], None),
    "permute": (lambda a: a.permute(1, 0), [(2, 3)], None),
    "movedim": (lambda a: torchlite.movedim(a, 0, 1), [(2, 3)], None),
    "t": (torchlite.t, [(2, 3)], None),
    "expand": (lambda a: a.expand(4, 2, 3), [(2, 3)], None),
    "expand_as": (lambda a, b: a.expand_as(b) * b, [(1, 3), (2, 3)], None),
    "broadcast_to": (lambda a: torchlite.broadcast_to(a, (2, 2, 3)), [(2, 3)], None),
    "broadcast_tensors": (lambda a, b: torchlite.broadcast_tensors(a, b), [(2, 1), (3,)], None),
    "repeat": (lambda a: a.repeat(2, 1), [(2, 3)], None),
    "tile": (lambda a: torchlite.tile(a, (2,)), [(2, 3)], None),
    "repeat_interleave": (lambda a: a.repeat_interleave(2, 0), [(2, 3)], None),
    "cat": (lambda a, b: torchlite.cat([a, b], 1), [(2, 3), (2, 1)], None),
    "stack": (lambda a, b: torchlite.stack([a, b]), [(2, 3), (2, 3)], None),
    "hstack": (lambda a, b: torchlite.hstack([a, b]), [(2, 3), (2, 3)], None),
    "vstack": (lambda a, b: torchlite.vstack([a, b]), [(2, 3), (3,)], None),
    "split": (lambda a: a.split(2, 1), [(2, 3)], None),
    "chunk": (lambda a: a.chunk(2, 1), [(2, 3)], None),
    "tensor_split": (lambda a: a.tensor_split(2, 1), [(2, 3)], None),
    "unbind": (lambda a: a.unbind(1), [(2, 3)], None),
    "select": (lambda a: a.select(1, 0), [(2, 3)], None),
    "narrow": (lambda a: a.narrow(1, 1, 2), [(2, 3)], None),
    "flip": (lambda a: a.flip(0), [(2, 3)], None),
    "fliplr": (torchlite.fliplr, [(2, 3)], None),
    "flipud": (torchlite.flipud, [(2, 3)], None),
    "roll": (lambda a: a.roll(1, 1), [(2, 3)], None),
    "pad": (lambda a: (pad(a, (1, 2)), pad(a, (1, 1), mode="reflect"),
                       pad(a, (1, 0), mode="replicate"), pad(a, (1, 1), mode="circular")),
            [(2, 3)], None),
    "contiguous": (lambda a: a.t().contiguous(), [(2, 3)], None),
    "clone": (lambda a: a.clone(), [(2, 3)], None),
    "to": (lambda a: a.to(torchlite.float64).to(a.dtype), [(2, 3)], None),
    # indexing
    "getitem": (lambda a: (a[0], a[:, ::2], a[I([1, 0, 1])], a[a > 0], a[None, ..., 1]),
                [(2, 3)], None),
    "setitem": (lambda a, b: _set(a * 1, (0, slice(None)), b), [(2, 3), (3,)], None),
    "index_select": (lambda a: a.index_select(1, I([2, 0])), [(2, 3)], None),
    "gather": (lambda a: a.gather(1, I([[0, 0], [2, 1]])), [(2, 3)], None),
    "take_along_dim": (lambda a: torchlite.take_along_dim(a, I([[0], [2]]), 1), [(2, 3)], None),
    "take": (lambda a: torchlite.take(a, I([0, 5])), [(2, 3)], None),
    "scatter_add": (lambda a, b: a.scatter_add(0, I([[1, 0, 1]]), b), [(2, 3), (1, 3)], None),
    "scatter": (lambda a, b: a.scatter(0, I([[1, 0, 1]]), b), [(2, 3), (1, 3)], None),
    "masked_fill": (lambda a: a.masked_fill(a > 0, 2.5), [(2, 3)], None),
    "masked_select": (lambda a: a.masked_select(a > 0), [(2, 3)], None),
    "index_add": (lambda a, b: a.index_add(0, I([1, 0, 1]), b, alpha=2), [(2, 3), (3, 3)],
                  None),
    "index_put": (lambda a, b: a.index_put((I([1, 0, 1]),), b, accumulate=True),
                  [(2, 3), (3, 3)], None),
    "index_put_": (lambda a, b: (a * 1).index_put_((I([1, 0]),), b), [(2, 3), (2, 3)], None),
    # softmax, diagonals and triangles, distances, grids
    "softmax": (lambda a: (torchlite.softmax(a, 1), a.softmax(0)), [(2, 3)], None),
    "log_softmax": (lambda a: (torchlite.log_softmax(a, 1), a.log_softmax(-1)), [(2, 3)], None),
    "diagonal": (lambda a: (a.diagonal(), torchlite.diagonal(a, -1)), [(2, 3)], None),
    "diag": (lambda a, b: (torchlite.diag(a, 1), b.diag(-1)), [(2, 3), (3,)], None),
    "tril": (lambda a: (torchlite.tril(a), a.tril(-1)), [(2, 3)], None),
    "triu": (lambda a: (torchlite.triu(a, 1), a.triu()), [(2, 3)], None),
    "cdist": (lambda a, b: (torchlite.cdist(a, b), torchlite.cdist(a, b, p=1)), [(2, 3), (4, 3)],
              None),
    "meshgrid": (lambda a, b: torchlite.meshgrid(a, b, indexing="xy"), [(2,), (3,)], None),
    "nan_to_num": (lambda a: torchlite.nan_to_num(a, posinf=1.0), [(2, 3)], None),
    # sorting
    "sort": (lambda a: a.sort(1).values, [(2, 3)], None),
    "topk": (lambda a: a.topk(2).values, [(2, 3)], None),
    "kthvalue": (lambda a: a.kthvalue(2, 1).values, [(2, 3)], None),
    "median": (lambda a: (a.median(), a.median(1).values), [(2, 3)], None),
}
for _name in ("abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
              "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid",
              "relu", "reciprocal", "erf", "square", "neg", "frac"):
    SWEEP[_name] = (getattr(torchlite, _name), [(2, 3)], UNIT if _name[0] == "a" else POS)
# the special functions, the floating-point pairs and the running reductions
for _name in ("asinh", "atanh", "deg2rad", "rad2deg", "erfc", "erfinv", "sinc"):
    SWEEP[_name] = (getattr(torchlite, _name), [(2, 3)], UNIT)
for _name in ("lgamma", "digamma"):
    SWEEP[_name] = (getattr(torchlite, _name), [(2, 3)], POS)
for _name in ("logaddexp", "logaddexp2", "copysign", "hypot", "xlogy"):
    SWEEP[_name] = (getattr(torchlite, _name), [(2, 3), (3,)], POS)
SWEEP["acosh"] = (lambda a: torchlite.acosh(a + 1), [(2, 3)], POS)
SWEEP["logit"] = (lambda a: torchlite.logit(a / 3), [(2, 3)], POS)
SWEEP["polygamma"] = (lambda a: torchlite.polygamma(1, a), [(2, 3)], POS)
SWEEP["cummax"] = (lambda a: (a.cummax(1).values, a.cummin(0).values), [(2, 3)], None)
SWEEP["logcumsumexp"] = (lambda a: a.logcumsumexp(1), [(2, 3)], None)
SWEEP["ldexp"] = (lambda a, b: torchlite.ldexp(a, b), [(2, 3), (3,)], None)
SWEEP["frexp"] = (lambda a: torchlite.frexp(a).mantissa, [(2, 3)], None)
SWEEP["positive"] = (lambda a: torchlite.positive(a) * 1, [(2, 3)], None)
SWEEP["ravel"] = (lambda a: a.t().ravel(), [(2, 3)], None)

# public functions that take no gradient (results are integer/bool, or piecewise constant)
NO_GRAD = {
    "floor_divide", "argmax", "argmin", "count_nonzero", "argsort", "unique", "argwhere",
    "nonzero", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "logical_and",
    "logical_not", "logical_or", "logical_xor", "ceil", "floor", "round", "sign", "trunc",
    "nextafter", "heaviside", "view_dtype", "unique_consecutive",
}
# helpers on raw arrays that ops share, not ops
ARRAY_HELPERS = {"log_softmax_array", "diag_view", "relu_forward", "relu_vjp", "stable_sigmoid",
                 "scatter_args"}


def _set(t, key, value):
    t[key] = value
    return t


def _inputs(shapes, domain, dtype, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        if domain == POS:
            a = rng.uniform(0.5, 2.0, s)
        elif domain == UNIT:
            a = rng.uniform(-0.9, 0.9, s)
        else:
            a = rng.uniform(-2.0, 2.0, s)
        out.append(torchlite.tensor(a, dtype=dtype, requires_grad=True))
    return out


def _outputs(result):
    return [r for r in (result if isinstance(result, tuple) else (result,))]


def test_sweep_covers_every_public_op():
    covered = set(SWEEP) | NO_GRAD | ARRAY_HELPERS
    missing = []
    for module in (elementwise, unary, reduction, linalg, shape, join, pad_module, indexing,
                   sorting, softmax, diagonal, pairwise):
        funcs = {}
        for name, fn in vars(module).items():
            if name.startswith("_") or inspect.isclass(fn) or not callable(fn):
                continue
            if getattr(fn, "__module__", None) == module.__name__:
                funcs.setdefault(fn, []).append(name)
        for names in funcs.values():  # aliases (clip/clamp, divide/div, ...) count once
            if not covered & set(names):
                missing.append("/".join(sorted(names)))
    assert missing == []


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(SWEEP))
def test_float_dtype_is_kept_in_outputs_and_grads(name, dtype):
    fn, shapes, domain = SWEEP[name]
    inputs = _inputs(shapes, domain, dtype)
    outs = _outputs(fn(*inputs))
    total = None
    for o in outs:
        assert o.dtype == dtype, (name, o.dtype)
        term = (o * 1.5).sum()
        total = term if total is None else total + term
    assert total.dtype == dtype
    total.backward()
    for x in inputs:
        assert x.grad is not None and x.grad.dtype == dtype and x.grad.shape == x.shape, name
        assert np.isfinite(x.grad.numpy()).all(), name


@pytest.mark.parametrize("dtype", [torchlite.float16, BF16], ids=str)
def test_low_precision_forward_keeps_its_dtype(dtype):
    h = torchlite.tensor([0.5, 1.5], dtype=dtype)
    for r in (h * 2.5, h + h, h.exp(), h.sum(), h.mean(), h @ h, h / 3, torchlite.sigmoid(h),
              h.max(), h.reshape(2, 1), torchlite.cat([h, h])):
        assert r.dtype == dtype


@pytest.mark.parametrize("int_dtype", [torchlite.int64, torchlite.int32, torchlite.uint8])
def test_integer_tensors_stay_integer(int_dtype):
    i = torchlite.tensor([[1, 2, 3], [4, 5, 6]], dtype=int_dtype)
    same = [i + i, i - i, i * i, i // 2, i % 4, i**2, abs(i), i.reshape(3, 2), i.t(), i[0],
            i[I([1, 0])], torchlite.cat([i, i]), i.flip(0), i.roll(1, 1), i.max(1).values,
            i.amax(), i.sort(1).values, torchlite.where(i > 2, i, i), i.clone(), i.repeat(2, 1),
            i.gather(1, I([[0], [1]])), i.masked_fill(i > 3, 0), torchlite.maximum(i, i), -i
            if int_dtype != torchlite.uint8 else i, i.square(), i.clamp(2, 4), i * 2, 3 - i,
            i.tril(), i.triu(1), i.diagonal(), i.diag(), torchlite.nan_to_num(i),
            i.index_add(1, I([0, 0]), i[:, :2])]
    for r in same:
        assert r.dtype == int_dtype, r
    for r in (i.sum(), i.prod(), i.cumsum(0), i.sum(1)):
        assert r.dtype == torchlite.int64  # PyTorch sums integers in int64
    for r in (i / i, i / 2, i * 0.5, i + 0.5, i.exp(), i.sqrt(), i.sigmoid(),
              i.to(torchlite.float32), torchlite.logsumexp(i, 0)):
        assert r.dtype == torchlite.float32, r
    assert (i / i).tolist() == [[1.0] * 3] * 2
    assert (i > 2).dtype == torchlite.bool and i.argmax().dtype == torchlite.int64
    assert not (i * 2).requires_grad
