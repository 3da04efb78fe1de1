"""Higher-level derivatives of Python functions, as `torch.autograd.functional`.

vjp, jvp, jacobian, hessian, vhp and hvp, with PyTorch's arguments (`create_graph`, `strict`,
`vectorize`) and output structures: a Tensor where PyTorch gives a Tensor (one input, one
output), tuples where the inputs or outputs were tuples. All are built on `autograd.grad`; jvp,
hvp and the Hessian differentiate a gradient again (the graph `create_graph=True` records).
`vectorize=True` is accepted and computes the same rows one backward pass at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..tensor import Tensor
from . import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple]:
    """(was_tuple, x as a tuple), checking that every element is a Tensor."""
    was_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if was_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"element {i} of " if was_tuple else ""
            raise TypeError(
                f"The {where}{arg} given to {fn} must be either a Tensor or a tuple of Tensors "
                f"but the value at index {i} has type {type(t).__name__}."
            )
    return was_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    # as PyTorch: with create_graph an input that requires grad keeps its history (a view of
    # it), otherwise each input is a fresh leaf
    if create_graph:
        return tuple(t.view_as(t) if t.requires_grad else t.detach().requires_grad_(True)
                     for t in inputs)
    return tuple(t.detach().requires_grad_(True) for t in inputs)


def _finish(x: Any, create_graph: bool) -> Any:
    if isinstance(x, tuple):
        return tuple(_finish(t, create_graph) for t in x)
    if x is None or create_graph:
        return x
    return x.detach()


def _untuple(x: tuple, was_tuple: bool) -> Any:
    return x if was_tuple else x[0]


def _check_v(v: tuple, ref: tuple, what: str, fn: str) -> None:
    if len(v) != len(ref):
        raise RuntimeError(f"{fn}: v has {len(v)} elements but the {what} has {len(ref)}")
    for a, b in zip(v, ref):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(
                f"Mismatch in shape: v has a shape of {tuple(a.shape)} and the {what} has a shape "
                f"of {tuple(b.shape)}"
            )


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple | None, create_graph: bool,
           strict: bool, fn: str, stage: str = "output") -> tuple:
    """autograd.grad over the outputs that have history; zeros (or, in strict mode, an
    error) for inputs the outputs do not depend on."""
    diff = [(o, g) for o, g in zip(outputs, grad_outputs or (None,) * len(outputs))
            if o.requires_grad]
    got: tuple[Tensor | None, ...]
    if diff:
        got = _grad([o for o, _ in diff], inputs,
                    [g for _, g in diff] if grad_outputs is not None else None,
                    retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        got = (None,) * len(inputs)
    out = []
    for i, (g, x) in enumerate(zip(got, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"The {stage} of the user-provided function is independent of input {i}. "
                    "This is not allowed in strict mode."
                )
            from ..ops.creation import zeros_like

            g = zeros_like(x)
        out.append(g)
    return tuple(out)


def _call(func: Callable, inputs: tuple, fn: str) -> tuple[bool, tuple]:
    out = func(*inputs)
    return _as_tuple(out, "outputs of the user-provided function", fn)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T J): the vector-Jacobian product at `inputs`."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _call(func, xs, "vjp")
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function "
                                   "returns a single Tensor with a single element.")
            vs = None
        else:
            _, vs = _as_tuple(v, "v", "vjp")
            _check_v(vs, outs, "output", "vjp")
        res = _grads(outs, xs, vs, create_graph, strict, "vjp")
    return (_untuple(_finish(outs, create_graph), out_tuple),
            _untuple(_finish(res, create_graph), in_tuple))


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp again."""
    from ..ops.creation import zeros_like

    in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        vs = _input_vectors(v, xs, "jvp")
        out_tuple, outs = _call(func, xs, "jvp")
        # u -> J^T u is linear; its derivative in u, applied to v, is J v
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        gs = _grads(outs, xs, us, True, strict, "jvp")
        live = [(g, w) for g, w in zip(gs, vs) if g.requires_grad]
        res: tuple[Tensor | None, ...]
        if live:
            res = _grad([g for g, _ in live], us, [w for _, w in live],
                        create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(us)
        jv = tuple(r if r is not None else zeros_like(o) for r, o in zip(res, outs))
        if strict and create_graph:
            for i, r in enumerate(jv):
                if not r.requires_grad:
                    raise RuntimeError(
                        f"The jacobian of the user-provided function is independent of input "
                        f"{i}. This is not allowed in strict mode when create_graph=True."
                    )
    return (_untuple(_finish(outs, create_graph), out_tuple),
            _untuple(_finish(jv, create_graph), out_tuple))


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of `func` at `inputs`: one block of shape output.shape + input.shape per
    (output, input) pair, nested as PyTorch nests them."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("torch.autograd.functional.jacobian: `strategy=\"forward-mode\"`"
                                  " only works when `vectorize=True`.")
    from ..ops.creation import zeros
    from ..ops.join import stack

    in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _call(func, xs, "jacobian")
        blocks = []
        for j, o in enumerate(outs):
            n = o.numel()
            flat = o.reshape(-1)
            rows: list[list] = [[] for _ in xs]
            for k in range(n):
                got: tuple[Tensor | None, ...]
                if flat.requires_grad:
                    got = _grad(flat[k], xs, retain_graph=True, create_graph=create_graph,
                                allow_unused=True)
                else:
                    got = (None,) * len(xs)
                for i, (g, x) in enumerate(zip(got, xs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {j} of the user-provided function is independent of "
                                f"input {i}. This is not allowed in strict mode."
                            )
                        g = zeros(tuple(x.shape), dtype=x.dtype, device=x.device)
                    rows[i].append(g)
            per_input = []
            for i, x in enumerate(xs):
                if n:
                    block = stack(rows[i]).reshape(tuple(o.shape) + tuple(x.shape))
                else:
                    block = zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype,
                                  device=x.device)
                per_input.append(_finish(block, create_graph))
            blocks.append(tuple(per_input))
    if not out_tuple and not in_tuple:
        return blocks[0][0]
    if not out_tuple:
        return blocks[0]
    if not in_tuple:
        return tuple(b[0] for b in blocks)
    return tuple(blocks)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar function: the Jacobian of its gradient, one block of shape
    input_i.shape + input_j.shape per pair of inputs."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args):
        out = func(*args)
        was, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if was or len(outs) != 1:
            raise RuntimeError("The function given in hessian should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        g = _grads((outs[0].reshape(()),), args, None, True, strict, "hessian", "output")
        return g if in_tuple else g[0]

    return jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                    vectorize=vectorize, strategy=outer_jacobian_strategy)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T H): the vector-Hessian product of a scalar function."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), H v): the Hessian-vector product (equal to vhp: H is symmetric for
    twice continuously differentiable functions)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _input_vectors(v, xs: tuple, fn: str) -> tuple:
    """The vectors multiplying the inputs' side (jvp, hvp, vhp): `v` checked against the inputs,
    or ones when the input is a single one-element tensor and v is None, as PyTorch."""
    if v is None:
        if len(xs) != 1 or xs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        from ..ops.creation import ones_like

        return (ones_like(xs[0]),)
    _, vs = _as_tuple(v, "v", fn)
    _check_v(vs, xs, "input", fn)
    return vs


def _hessian_product(func, inputs, v, create_graph, strict, fn):
    in_tuple, xs = _as_tuple(inputs, "inputs", fn)
    with enable_grad():
        xs = _prepare(xs, create_graph)
        vs = _input_vectors(v, xs, fn)
        out_tuple, outs = _call(func, xs, fn)
        if out_tuple or len(outs) != 1:
            raise RuntimeError(f"The function given in {fn} should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {fn} should "
                               "contain a single element")
        gs = _grads(outs, xs, None, True, strict, fn)
        live = [(g, w) for g, w in zip(gs, vs) if g.requires_grad]
        res: tuple[Tensor | None, ...]
        if live:
            res = _grad([g for g, _ in live], xs, [w for _, w in live],
                        create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(xs)
        out = []
        for i, (r, x) in enumerate(zip(res, xs)):
            if r is None:
                if strict:
                    raise RuntimeError(
                        f"The hessian of the user-provided function with respect to input {i} "
                        "is independent of the input. This is not allowed in strict mode."
                    )
                from ..ops.creation import zeros_like

                r = zeros_like(x)
            out.append(r)
    return (_finish(outs[0], create_graph), _untuple(_finish(tuple(out), create_graph),
                                                     in_tuple))
