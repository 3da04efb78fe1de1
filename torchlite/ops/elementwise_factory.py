"""One way to declare an elementwise op: a forward over `xp` and one derivative per input, in
the spirit of HIPS autograd's `defvjp` table.

`elementwise(name, forward, *vjps, reads=...)` builds the Op class. The factory writes, once for
every op, what each op used to repeat: saving only what the derivatives that will run read,
casting binary operands to the result dtype, quieting NumPy's floating-point warnings where the
op asks, and summing each gradient back to its input's shape and dtype (unbroadcast).

* unary: `forward(xp, x, **attrs)`, called as `Op.apply(x, **attrs)`.
* binary: `forward(xp, a, b, **attrs)`, where a and b are arrays or Python scalars already cast
  to the result dtype; called as `Op.apply(a, b, dtype, **attrs)` with the dtype from
  `promotion.result_dtype` (or NumPy's). A scalar operand gets no gradient.

Attributes (an activation's slope, a loss's beta) are the forward's parameters after its inputs
that have no default, passed as keywords; every derivative receives them too.

A derivative `vjp(xp, g, *inputs, out, **attrs)` returns the gradient for its input from the
output's gradient `g`. It sees only what its entry in `reads` names ("x", "a", "b", "out"; the
rest are None), so an op keeps exactly what backward needs alive. A binary forward may instead
return `(out, res)`, a residual its derivatives read as the keyword `res` (reads "res" for
both), where keeping an intermediate beats computing it again: the regression losses keep
d = input - target, as they did before they were declared here. Derivatives are written with
operators and `xp` functions over whole arrays, the form that lets the same formula run over
differentiable functions when a graph of the backward pass is built.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..autograd.function import Op
from ..backend import get_xp
from .broadcast import unbroadcast
from .elementwise_fastpath import binary_fast_path
from .promotion import scalar

# NumPy's floating-point warnings silenced in forward and backward (inf, NaN and overflow are
# values an op returns, as in PyTorch).
QUIET = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}


def elementwise(name: str, forward, *vjps, reads, quiet: dict | None = None, doc: str = "",
                module: str | None = None) -> type[Op]:
    """An Op class for an elementwise function of one or two inputs (see the module docstring).

    `reads` is what the derivatives read: a string for a unary op ("x", "out" or "x out"), one
    string per input for a binary op (("b", "a") for a product). `quiet` is the np.errstate the
    forward and backward run under (None: NumPy's defaults, the cheapest).
    """
    spec = None
    if len(vjps) == 1:
        fwd, bwd = _unary(forward, vjps[0], reads, quiet)
    elif len(vjps) == 2:
        fwd, bwd, spec = _binary(forward, vjps, reads, quiet)
    else:
        raise ValueError(f"elementwise: {name} needs one derivative per input (1 or 2)")
    cls = type(name, (Op,), {"forward": staticmethod(fwd), "backward": staticmethod(bwd),
                             "__doc__": doc, "__module__": module or forward.__module__})
    if spec is not None:
        # `cls.fast(a, b)`: the common call straight to the forward, or None (elementwise_fastpath)
        cls.fast = staticmethod(binary_fast_path(cls, *spec))
    return cls


def _xp(arr):
    return np if type(arr) is np.ndarray else get_xp(arr)


def _has_attrs(forward, n_inputs: int) -> bool:
    params = list(inspect.signature(forward).parameters.values())[1 + n_inputs:]
    return any(p.default is inspect.Parameter.empty for p in params)


# NumPy 2's errstate used as a decorator keeps each call's state on that call's stack and costs
# about half of a `with` block (NumPy 1 stores it on the shared object: not safe across threads)
_ERRSTATE_DECORATES = int(np.__version__.split(".")[0]) >= 2


def _quieted(fn, quiet):
    """`fn` run under np.errstate(**quiet) (one errstate per call: it costs about a microsecond,
    so ops that need none take `fn` itself)."""
    if not quiet:
        return fn
    if _ERRSTATE_DECORATES:
        return np.errstate(**quiet)(fn)

    def run(*args, **kw):
        with np.errstate(**quiet):
            return fn(*args, **kw)

    return run


# The hot backwards below read `ctx._saved` rather than `ctx.saved_tensors`: the engine checks
# a node's versions and freed state before it calls backward (both the raw-array and the
# graph-building walk), and the property would check them a second time.


def _unary(f, df, reads: str, quiet):
    names = reads.split()
    if not names or set(names) - {"x", "out"}:
        raise ValueError(f"elementwise: a unary derivative reads 'x' and/or 'out', not {reads!r}")
    # what forward keeps: 0 the input, 1 the output, 2 both. The closures are written out per
    # case, without helper calls or branches: they run on every call of the hottest ops.
    mode = 2 if {"x", "out"} <= set(names) else 0 if "x" in names else 1

    if _has_attrs(f, 1):  # the activations with arguments; errstate inline, not wrapped
        def forward_attrs(ctx, x, **kw):
            ctx.kw = kw
            xp = np if type(x) is np.ndarray else get_xp(x)
            if quiet:
                with np.errstate(**quiet):
                    out = f(xp, x, **kw)
            else:
                out = f(xp, x, **kw)
            if mode == 0:
                ctx.save_for_backward(x)
            elif mode == 1:
                ctx.save_for_backward(out)
            else:
                ctx.save_for_backward(x, out)
            return out

        def backward_attrs(ctx, g):
            s = ctx.saved_tensors
            x, out = (s[0], None) if mode == 0 else (None, s[0]) if mode == 1 else s
            xp = np if type(g) is np.ndarray else get_xp(g)
            if quiet:
                with np.errstate(**quiet):
                    r = df(xp, g, x, out, **ctx.kw)
            else:
                r = df(xp, g, x, out, **ctx.kw)
            return r if r.dtype == g.dtype else r.astype(g.dtype)  # g's dtype is the input's

        return forward_attrs, backward_attrs

    if mode == 1:  # exp, sqrt, tanh, sigmoid, relu: the derivative reads the output
        def forward(ctx, x):
            out = f(np if type(x) is np.ndarray else get_xp(x), x)
            ctx.save_for_backward(out)
            return out

        def backward(ctx, g):
            (out,) = ctx._saved
            r = df(np if type(g) is np.ndarray else get_xp(g), g, None, out)
            return r if r.dtype == g.dtype else r.astype(g.dtype)

    elif mode == 0:
        def forward(ctx, x):
            out = f(np if type(x) is np.ndarray else get_xp(x), x)
            ctx.save_for_backward(x)
            return out

        def backward(ctx, g):
            (x,) = ctx._saved
            r = df(np if type(g) is np.ndarray else get_xp(g), g, x, None)
            return r if r.dtype == g.dtype else r.astype(g.dtype)

    else:
        def forward(ctx, x):
            out = f(np if type(x) is np.ndarray else get_xp(x), x)
            ctx.save_for_backward(x, out)
            return out

        def backward(ctx, g):
            x, out = ctx._saved
            r = df(np if type(g) is np.ndarray else get_xp(g), g, x, out)
            return r if r.dtype == g.dtype else r.astype(g.dtype)

    return _quieted(forward, quiet), _quieted(backward, quiet)


def _binary(f, vjps, reads, quiet):
    if len(reads) != 2 or any(set(r.split()) - {"a", "b", "out", "res"} for r in reads):
        raise ValueError(f"elementwise: a binary op reads 'a', 'b' and/or 'out' per input, "
                         f"not {reads!r}")
    da, db = vjps
    if any("res" in r.split() for r in reads):
        if any(r.split() != ["res"] for r in reads):
            raise ValueError(f"elementwise: an op that keeps a residual reads only it ('res'), "
                             f"not {reads!r}")
        return (*_binary_residual(f, da, db, quiet), None)
    ra, rb = (set(r.split()) for r in reads)
    slots = ("a", "b", "out") if "out" in ra | rb else ("a", "b")
    # the slots to keep for each combination of inputs that need a gradient (the third entry
    # of needs_input_grad is the dtype argument's)
    plan = {}
    for na in (False, True):
        for nb in (False, True):
            used = (ra if na else set()) | (rb if nb else set())
            plan[(na, nb, False)] = tuple(s in used for s in slots)
    with_out = len(slots) == 3
    nothing = not (ra or rb)

    def keep(ctx, a, b, out):
        if not nothing:
            k = plan[ctx.needs_input_grad]
            if with_out:
                ctx.save_for_backward(a if k[0] else None, b if k[1] else None,
                                      out if k[2] else None)
            else:
                ctx.save_for_backward(a if k[0] else None, b if k[1] else None)

    def load(ctx):
        if nothing:
            return None, None, None
        if with_out:
            return ctx.saved_tensors
        return (*ctx.saved_tensors, None)

    if _has_attrs(f, 2):
        def forward_attrs(ctx, a, b, dt, **kw):
            ctx.ma, ctx.mb, ctx.kw = operand_meta(a), operand_meta(b), kw
            a, b = cast(a, dt), cast(b, dt)
            out = f(np if type(a) is np.ndarray else array_module(a, b), a, b, **kw)
            keep(ctx, a, b, out)
            return out

        def backward_attrs(ctx, g):
            n, kw = ctx.needs_input_grad, ctx.kw
            a, b, out = load(ctx)
            xp = _xp(g)
            return (unbroadcast(da(xp, g, a, b, out, **kw), *ctx.ma) if n[0] else None,
                    unbroadcast(db(xp, g, a, b, out, **kw), *ctx.mb) if n[1] else None, None)

        return _quieted(forward_attrs, quiet), _quieted(backward_attrs, quiet), None

    # add, mul, ...: the hot path, written out
    def forward(ctx, a, b, dt):
        ctx.ma, ctx.mb = operand_meta(a), operand_meta(b)
        a, b = cast(a, dt), cast(b, dt)
        out = f(np if type(a) is np.ndarray else array_module(a, b), a, b)
        if not nothing:
            k = plan[ctx.needs_input_grad]
            if with_out:
                ctx.save_for_backward(a if k[0] else None, b if k[1] else None,
                                      out if k[2] else None)
            else:
                ctx.save_for_backward(a if k[0] else None, b if k[1] else None)
        return out

    def backward(ctx, g):
        n = ctx.needs_input_grad
        if nothing:
            a = b = out = None
        elif with_out:
            a, b, out = ctx._saved
        else:
            (a, b), out = ctx._saved, None
        xp = np if type(g) is np.ndarray else get_xp(g)
        return (unbroadcast(da(xp, g, a, b, out), *ctx.ma) if n[0] else None,
                unbroadcast(db(xp, g, a, b, out), *ctx.mb) if n[1] else None, None)

    return (_quieted(forward, quiet), _quieted(backward, quiet),
            (_quieted(f, quiet), plan, with_out, nothing))


def _binary_residual(f, da, db, quiet):
    """A binary op whose forward returns (out, res): `res`, computed once in forward, is all
    that backward keeps, and the derivatives receive it as the keyword `res`."""

    def forward(ctx, a, b, dt, **kw):
        ctx.ma, ctx.mb, ctx.kw = operand_meta(a), operand_meta(b), kw
        a, b = cast(a, dt), cast(b, dt)
        xp = np if type(a) is np.ndarray else array_module(a, b)
        if quiet:
            with np.errstate(**quiet):
                out, res = f(xp, a, b, **kw)
        else:
            out, res = f(xp, a, b, **kw)
        ctx.save_for_backward(res)
        return out

    def grads(ctx, g, xp, res):
        n, kw = ctx.needs_input_grad, ctx.kw
        return (unbroadcast(da(xp, g, None, None, None, res=res, **kw), *ctx.ma)
                if n[0] else None,
                unbroadcast(db(xp, g, None, None, None, res=res, **kw), *ctx.mb)
                if n[1] else None, None)

    def backward(ctx, g):
        (res,) = ctx.saved_tensors
        xp = np if type(g) is np.ndarray else get_xp(g)
        if quiet:
            with np.errstate(**quiet):
                return grads(ctx, g, xp, res)
        return grads(ctx, g, xp, res)

    return forward, backward


def cast(x, dt):
    """An operand in the result dtype: arrays cast, Python ints wrapped into integer dtypes as
    PyTorch does (uint8 + 300 == uint8 + 44), NumPy scalars as Python numbers."""
    if type(x) is np.ndarray or isinstance(x, np.ndarray) \
            or hasattr(x, "__cuda_array_interface__"):
        return x if x.dtype is dt or x.dtype == dt else x.astype(dt)
    x = scalar(x)
    if dt is not None and dt.kind in "iu" and type(x) is int:
        info = np.iinfo(dt)
        if not info.min <= x <= info.max:
            return np.asarray(x % (1 << info.bits)).astype(dt)[()]
    return x


def operand_grad(g, meta):
    """`g` summed back to an operand's (shape, dtype) `meta`; None for a scalar operand."""
    return None if meta is None else unbroadcast(g, meta[0], meta[1])


def operand_meta(x):
    """(shape, dtype) of an array operand, None for a scalar: what its gradient must match."""
    if type(x) is np.ndarray:
        return x.shape, x.dtype
    return (x.shape, x.dtype) if hasattr(x, "shape") and hasattr(x, "dtype") \
        and not isinstance(x, np.generic) else None


def array_module(*arrays):
    """The array module of the first array among `arrays` (numpy when all are scalars)."""
    for a in arrays:
        if hasattr(a, "dtype") and not isinstance(a, np.generic):
            return get_xp(a)
    return np
