"""Double backward for every differentiable op: gradgradcheck in float64 on small inputs.

The sweep also records which Op classes it reached, and a last test checks that every Op
subclass of the library is either reached or listed with the reason it is not.
"""

from __future__ import annotations

import numpy as np
import pytest

import torchlite as torch
import torchlite.nn.functional as F
from torchlite.autograd import gradgradcheck
from torchlite.autograd.function import Op

_RNG = np.random.default_rng(7)


def _r(*shape, lo=-1.0, hi=1.0, grad=True):
    t = torch.tensor(_RNG.uniform(lo, hi, size=shape), dtype=torch.float64)
    return t.requires_grad_(grad)


def _pos(*shape, grad=True):
    return _r(*shape, lo=0.5, hi=1.5, grad=grad)


def _idx(*values):
    return torch.tensor(list(values), dtype=torch.int64)


def _view_write(a, b):
    c = a * 1.0
    c[0] += b * b  # an in-place write through a view
    return c


def _shift(a):
    """a + 3 I: away from singular (and positive-definite for a = b b^T)."""
    return a + 3 * torch.eye(a.shape[-1], dtype=a.dtype)


def _seeded(fn, *args):
    torch.manual_seed(0)  # the same mask on every call of the check
    return fn(*args)


_RNNS: dict = {}


def _rnn(kind, x):
    if kind not in _RNNS:
        torch.manual_seed(0)
        _RNNS[kind] = getattr(torch.nn, kind)(2, 2, dtype=torch.float64)
    return _RNNS[kind](x)[0]


# name -> (function, inputs factory). Inputs stay away from kinks (abs at 0, relu at 0...).
CASES = {
    # elementwise binary
    "add": (lambda a, b: a + b, lambda: (_r(2, 3), _r(3))),
    "sub": (lambda a, b: a - b, lambda: (_r(2, 3), _r(2, 1))),
    "mul": (lambda a, b: a * b, lambda: (_r(2, 3), _r(3))),
    "mul_self": (lambda a: a * a, lambda: (_r(2, 3),)),
    "div": (lambda a, b: a / b, lambda: (_r(2, 3), _pos(3))),
    "pow": (lambda a, b: a ** b, lambda: (_pos(2, 3), _r(3))),
    "pow_scalar": (lambda a: a ** 3, lambda: (_r(2, 3),)),
    "rpow": (lambda a: 2.0 ** a, lambda: (_r(2, 3),)),
    "atan2": (torch.atan2, lambda: (_pos(2, 3), _pos(3))),
    "maximum": (torch.maximum, lambda: (_r(4), _r(4) + 3)),
    "minimum": (torch.minimum, lambda: (_r(4), _r(4) + 3)),
    # unary
    **{n: (getattr(torch, n), lambda: (_r(2, 3),)) for n in (
        "exp", "sin", "cos", "tan", "tanh", "sigmoid", "sinh", "cosh", "atan", "erf", "expm1",
        "exp2", "square", "neg", "asin", "acos")},
    **{n: (getattr(torch, n), lambda: (_pos(2, 3),)) for n in (
        "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal")},
    "abs": (torch.abs, lambda: (_pos(2, 3),)),
    "relu": (torch.relu, lambda: (_pos(2, 3),)),
    "nan_to_num": (torch.nan_to_num, lambda: (_r(2, 3),)),
    # a straight-through estimator: its derivative is a mask, the second derivative 0
    "fake_quantize": (lambda a: torch.fake_quantize_per_tensor_affine(a, 0.1, 0, -128, 127),
                      lambda: (_r(2, 3),)),
    "floor": (torch.floor, lambda: (_r(2, 3),)),
    "clamp": (lambda a: torch.clamp(a, -0.5, 0.5), lambda: (_r(2, 3),)),
    "where": (lambda a, b: torch.where(a > 0, a, b), lambda: (_r(2, 3), _r(2, 3))),
    "acosh": (torch.acosh, lambda: (_r(2, 3, lo=1.5, hi=2.5),)),
    "asinh": (torch.asinh, lambda: (_r(2, 3),)),
    "atanh": (torch.atanh, lambda: (_r(2, 3, lo=-0.8, hi=0.8),)),
    "erfc": (torch.erfc, lambda: (_r(2, 3),)),
    "erfinv": (torch.erfinv, lambda: (_r(2, 3, lo=-0.8, hi=0.8),)),
    "lgamma": (torch.lgamma, lambda: (_pos(2, 3),)),
    "digamma": (torch.digamma, lambda: (_pos(2, 3),)),
    "polygamma": (lambda a: torch.polygamma(1, a), lambda: (_pos(2, 3),)),
    "logit": (torch.logit, lambda: (_r(2, 3, lo=0.2, hi=0.8),)),
    "sinc": (torch.sinc, lambda: (_pos(2, 3),)),
    "deg2rad": (torch.deg2rad, lambda: (_r(2, 3),)),
    "rad2deg": (torch.rad2deg, lambda: (_r(2, 3),)),
    "copysign": (torch.copysign, lambda: (_pos(2, 3), _pos(3))),
    "hypot": (torch.hypot, lambda: (_pos(2, 3), _pos(3))),
    "logaddexp": (torch.logaddexp, lambda: (_r(2, 3), _r(3))),
    "logaddexp2": (torch.logaddexp2, lambda: (_r(2, 3), _r(3))),
    "xlogy": (torch.xlogy, lambda: (_r(2, 3), _pos(3))),
    # reductions
    "cummax": (lambda a: torch.cummax(a, 1)[0], lambda: (_r(2, 3),)),
    "logcumsumexp": (lambda a: torch.logcumsumexp(a, 1), lambda: (_r(2, 3),)),
    "sum": (lambda a: a.sum(1), lambda: (_r(2, 3),)),
    "mean": (lambda a: a.mean(0), lambda: (_r(2, 3),)),
    "prod": (lambda a: a.prod(1), lambda: (_pos(2, 3),)),
    "amax": (lambda a: a.amax(1), lambda: (_r(2, 3),)),
    "max_dim": (lambda a: a.max(1)[0], lambda: (_r(2, 3),)),
    "cumsum": (lambda a: a.cumsum(1), lambda: (_r(2, 3),)),
    "logsumexp": (lambda a: a.logsumexp(1), lambda: (_r(2, 3),)),
    "norm": (lambda a: a.norm(), lambda: (_r(2, 3),)),
    "var": (lambda a: a.var(1), lambda: (_r(2, 3),)),
    "std": (lambda a: a.std(1), lambda: (_r(2, 3),)),
    # linear algebra
    "matmul": (torch.matmul, lambda: (_r(2, 3), _r(3, 4))),
    "matmul_vec": (torch.matmul, lambda: (_r(3), _r(3, 2))),
    "bmm": (torch.bmm, lambda: (_r(2, 2, 3), _r(2, 3, 2))),
    "einsum": (lambda a, b: torch.einsum("ij,jk->ik", a, b), lambda: (_r(2, 3), _r(3, 2))),
    # shape and indexing
    "reshape": (lambda a: a.reshape(3, 2) * a.reshape(3, 2), lambda: (_r(2, 3),)),
    "permute": (lambda a: a.permute(1, 0) ** 2, lambda: (_r(2, 3),)),
    "expand": (lambda a: a.expand(2, 3) ** 2, lambda: (_r(1, 3),)),
    "flip": (lambda a: a.flip(1) ** 2, lambda: (_r(2, 3),)),
    "roll": (lambda a: a.roll(1, 1) ** 2, lambda: (_r(2, 3),)),
    "slice": (lambda a: a[:, 1:] ** 2, lambda: (_r(2, 3),)),
    "adv_index": (lambda a: a[_idx(0, 0, 1)] ** 2, lambda: (_r(2, 3),)),
    "gather": (lambda a: torch.gather(a, 1, torch.tensor([[0, 0], [2, 1]])) ** 2,
               lambda: (_r(2, 3),)),
    "index_select": (lambda a: torch.index_select(a, 0, _idx(1, 1)) ** 2, lambda: (_r(2, 3),)),
    "scatter": (lambda a, b: torch.scatter(a, 1, torch.tensor([[0], [2]]), b) ** 2,
                lambda: (_r(2, 3), _r(2, 1))),
    "index_put": (lambda a, b: a.index_put((_idx(0, 1),), b) ** 2, lambda: (_r(2, 3), _r(2, 3))),
    "index_put_acc": (lambda a, b: a.index_put((_idx(0, 0),), b, accumulate=True) ** 2,
                      lambda: (_r(2, 3), _r(2, 3))),
    "scatter_reduce": (
        lambda a, b: torch.scatter_reduce(a, 1, torch.tensor([[0, 0], [2, 1]]), b, "sum") ** 2,
        lambda: (_r(2, 3), _r(2, 2))),
    "scatter_reduce_amax": (
        lambda a, b: torch.scatter_reduce(a, 1, torch.tensor([[0, 0], [2, 1]]), b, "amax"),
        lambda: (_r(2, 3), _r(2, 2))),
    "scatter_reduce_mean": (
        lambda a, b: torch.scatter_reduce(a, 1, torch.tensor([[0, 0], [2, 1]]), b, "mean"),
        lambda: (_r(2, 3), _r(2, 2))),
    "unfold": (lambda a: a.unfold(1, 2, 1) ** 2, lambda: (_r(2, 4),)),
    "fold": (lambda a: F.fold(a, (3, 3), 2) ** 2, lambda: (_r(1, 8, 4),)),
    "unfold_2d": (lambda a: F.unfold(a, 2, padding=1) ** 2, lambda: (_r(1, 2, 3, 3),)),
    "view_write": (lambda a, b: _view_write(a, b), lambda: (_r(2, 3), _r(3))),
    "cat": (lambda a, b: torch.cat([a, b]) ** 2, lambda: (_r(2, 3), _r(1, 3))),
    "diagonal": (lambda a: torch.diagonal(a) ** 2, lambda: (_r(3, 3),)),
    "diag": (lambda a: torch.diag(a, 1) ** 2, lambda: (_r(3),)),
    "diag_of_matrix": (lambda a: torch.diag(a, -1) ** 2, lambda: (_r(3, 4),)),
    "diagonal_dims": (lambda a: torch.diagonal(a, 1, 2, 0) ** 2, lambda: (_r(3, 2, 4),)),
    "tril": (lambda a: torch.tril(a) ** 2, lambda: (_r(3, 3),)),
    "pad": (lambda a: F.pad(a, (1, 1)) ** 2, lambda: (_r(2, 3),)),
    "pad_reflect": (lambda a: F.pad(a, (1, 1), mode="reflect") ** 2, lambda: (_r(1, 2, 3),)),
    "clone": (lambda a: a.clone() ** 2, lambda: (_r(2, 3),)),
    "cast": (lambda a: a.to(torch.float32) ** 2, lambda: (_r(2, 3),)),
    "softmax": (lambda a: torch.softmax(a, 1), lambda: (_r(2, 3),)),
    "log_softmax": (lambda a: torch.log_softmax(a, 1), lambda: (_r(2, 3),)),
    # activations
    **{n: (getattr(F, n), lambda: (_r(2, 3),)) for n in (
        "elu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "tanhshrink",
        "logsigmoid", "hardswish", "hardsigmoid", "selu")},
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), lambda: (_r(2, 3),)),
    "hardtanh": (lambda a: F.hardtanh(a, -0.5, 0.5), lambda: (_r(2, 3),)),
    "hardshrink": (lambda a: F.hardshrink(a, 0.3), lambda: (_r(2, 3),)),
    "softshrink": (lambda a: F.softshrink(a, 0.3), lambda: (_r(2, 3),)),
    "threshold": (lambda a: F.threshold(a, 0.1, 0.0), lambda: (_r(2, 3),)),
    "prelu": (F.prelu, lambda: (_r(2, 3), _r(3))),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), lambda: (_r(2, 3),)),
    # layers
    "linear": (F.linear, lambda: (_r(2, 3), _r(4, 3), _r(4))),
    "bilinear": (F.bilinear, lambda: (_r(2, 3), _r(2, 2), _r(4, 3, 2), _r(4))),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1),
               lambda: (_r(1, 2, 4, 4), _r(2, 2, 3, 3), _r(2))),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, None, 2, 1, 2, 2),
                      lambda: (_r(1, 4, 6, 5), _r(2, 2, 2, 2))),
    "conv_transpose2d_groups": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2, 1),
        lambda: (_r(1, 4, 3, 3), _r(4, 1, 3, 3), _r(2))),
    "conv1d": (lambda x, w: F.conv1d(x, w, stride=2), lambda: (_r(1, 2, 5), _r(2, 2, 3))),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2),
                         lambda: (_r(1, 2, 3, 3), _r(2, 1, 2, 2))),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3,), w, b),
                   lambda: (_r(2, 3), _r(3), _r(3))),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   lambda: (_r(4, 3), _r(3), _r(3))),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b),
                   lambda: (_r(2, 4, 3), _r(4), _r(4))),
    "instance_norm": (lambda x: F.instance_norm(x), lambda: (_r(2, 2, 4),)),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), lambda: (_r(1, 1, 4, 4),)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), lambda: (_r(1, 1, 4, 4),)),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, 2), lambda: (_r(1, 1, 5, 5),)),
    "dropout": (lambda a: _seeded(F.dropout, a, 0.5), lambda: (_r(2, 3),)),
    "rnn": (lambda x: _rnn("RNN", x), lambda: (_r(3, 1, 2),)),
    "lstm": (lambda x: _rnn("LSTM", x), lambda: (_r(3, 1, 2),)),
    "gru": (lambda x: _rnn("GRU", x), lambda: (_r(3, 1, 2),)),
    "embedding": (lambda w: F.embedding(_idx(0, 2, 2), w) ** 2, lambda: (_r(3, 2),)),
    "interpolate": (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear") ** 2,
                    lambda: (_r(1, 1, 2, 2),)),
    "sdpa": (F.scaled_dot_product_attention, lambda: (_r(1, 2, 3), _r(1, 2, 3), _r(1, 2, 3))),
    # losses
    "mse_loss": (F.mse_loss, lambda: (_r(2, 3), _r(2, 3))),
    "l1_loss": (F.l1_loss, lambda: (_r(2, 3), _r(2, 3) + 3)),
    "smooth_l1_loss": (F.smooth_l1_loss, lambda: (_r(2, 3), _r(2, 3))),
    "huber_loss": (F.huber_loss, lambda: (_r(2, 3), _r(2, 3))),
    "bce": (F.binary_cross_entropy, lambda: (_r(2, 3, lo=0.2, hi=0.8), _r(2, 3, lo=0.1, hi=0.9))),
    "bce_logits": (F.binary_cross_entropy_with_logits, lambda: (_r(2, 3), _r(2, 3, lo=0, hi=1))),
    "kl_div": (lambda a, b: F.kl_div(a, b, reduction="batchmean"), lambda: (_r(2, 3), _pos(2, 3))),
    "cross_entropy": (lambda a: F.cross_entropy(a, _idx(0, 2)), lambda: (_r(2, 3),)),
    "cross_entropy_prob": (lambda a, b: F.cross_entropy(a, b), lambda: (_r(2, 3), _pos(2, 3))),
    "nll_loss": (lambda a: F.nll_loss(a, _idx(0, 2)), lambda: (_r(2, 3),)),
    # torch.linalg (matrices kept well conditioned, eigen- and singular values distinct)
    "linalg_inv": (lambda a: torch.linalg.inv(_shift(a)), lambda: (_r(3, 3),)),
    "linalg_det": (lambda a: torch.linalg.det(_shift(a)), lambda: (_r(3, 3),)),
    "linalg_slogdet": (lambda a: torch.linalg.slogdet(_shift(a)).logabsdet, lambda: (_r(3, 3),)),
    "linalg_solve": (lambda a, b: torch.linalg.solve(_shift(a), b), lambda: (_r(3, 3), _r(3, 2))),
    "linalg_cholesky": (lambda a: torch.linalg.cholesky(_shift(a @ a.mT)), lambda: (_r(3, 3),)),
    "linalg_eigh": (lambda a: torch.linalg.eigh(a + a.mT).eigenvectors ** 2,
                    lambda: (_r(3, 3),)),
    "linalg_svd": (lambda a: torch.linalg.svd(a, full_matrices=False).U ** 2,
                   lambda: (_r(4, 3),)),
    "linalg_qr": (lambda a: torch.linalg.qr(a).Q, lambda: (_r(4, 3),)),
    "linalg_pinv": (torch.linalg.pinv, lambda: (_r(3, 4),)),
    "angle": (lambda a: torch.angle(a) * a, lambda: (_r(2, 3),)),
}

# float32 steps: central differences are good to float32's rounding only
TOLERANCE = {"cast": 2e-2}

NOT_SWEPT: dict[str, str] = {
    "NormStats": "only built by the graph path of the norms (checked through them)",
    "ToDevice": "a copy between devices: needs a GPU (its backward is a move back, linear)",
    "LinearAct": "the fused CUDA bias+activation path: needs a GPU",
    "HalfLinear": "linear under float16/bfloat16 autocast, which rounds to them (finite "
                  "differences in float64 do not apply): tests/amp/test_half_linear.py checks "
                  "its second derivatives against float32's",
    "_SyncBatchNormOp": "cross-process batch norm: needs a process group",
}


# PyTorch's backward of these ops is not differentiable: first-order gradients work, a second
# derivative raises NotImplementedError naming PyTorch's backward function
REFUSED = {
    "cdist": (torch.cdist, lambda: (_r(2, 3), _r(3, 3)), "_cdist_backward"),
    "embedding_bag": (lambda w: F.embedding_bag(_idx(0, 2, 2, 1), w, _idx(0, 2)),
                      lambda: (_r(3, 2),), "_embedding_bag_backward"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_double_backward_refused_as_pytorch(name):
    fn, make, what = REFUSED[name]
    inputs = make()
    out = fn(*inputs)
    _reach(out)
    assert torch.autograd.gradcheck(fn, inputs)
    grads = torch.autograd.grad(out.sum(), inputs, create_graph=True)
    assert all(g.requires_grad for g in grads)
    with pytest.raises(NotImplementedError, match=f"the derivative for '{what}'"):
        torch.autograd.grad(sum(g.sum() for g in grads), inputs)


def test_scatter_reduce_prod_double_backward_is_refused():
    a, b = _pos(2, 3), _pos(2, 2)
    out = torch.scatter_reduce(a, 1, torch.tensor([[0, 0], [2, 1]]), b, "prod")
    with pytest.raises(NotImplementedError, match="scatter_reduce"):
        torch.autograd.grad(out.sum(), (a, b), create_graph=True)

REACHED: set[str] = set()


def _reach(t):
    seen, stack = set(), [t.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        fn = getattr(n, "fn", None)
        if fn is not None:
            REACHED.add(fn.__name__)
        stack.extend(e[0] for e in n.next_functions if e[0] is not None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name):
    fn, make = CASES[name]
    inputs = make()
    out = fn(*inputs)
    for o in out if isinstance(out, tuple) else (out,):
        _reach(o)
    tol = TOLERANCE.get(name, 1e-5)
    assert gradgradcheck(fn, inputs, atol=tol, rtol=max(tol, 1e-3))


def _library_ops():
    import importlib
    import pkgutil

    import torchlite.nn.functional
    import torchlite.ops

    for pkg in (torchlite.ops, torchlite.nn.functional):
        for m in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg.__name__}.{m.name}")

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    # the autograd package's own ops (the stand-ins' indexing, the refusal node) are exercised
    # by the graph path itself. The sparse layouts' ops (tests/sparse checks their gradients)
    # exist only once some test has imported torchlite.sparse's modules: counting them made the
    # outcome depend on which tests ran before this one, and their names (Transpose, Cast, ...)
    # would stand for dense ops of the same names
    return {c.__name__: c for c in subclasses(Op) if c.__module__.startswith("torchlite.")
            and not c.__module__.startswith(("torchlite.autograd.darray",
                                             "torchlite.autograd.graph_backward",
                                             "torchlite.sparse."))}


def test_every_op_is_swept():
    if len(REACHED) < 50:
        for fn, make, *_ in list(CASES.values()) + list(REFUSED.values()):
            out = fn(*make())
            for o in out if isinstance(out, tuple) else (out,):
                _reach(o)
    missing = sorted(set(_library_ops()) - REACHED - set(NOT_SWEPT))
    assert not missing, (
        f"ops without a double-backward case: {missing}; add a case to CASES in "
        f"{__file__} or list the op in NOT_SWEPT with the reason"
    )
