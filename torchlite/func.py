"""`torch.func`: function transforms over torchlite's autograd.

grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian are built on reverse-mode autograd,
so they nest (grad(grad(f)), jacrev(jacrev(f))): an argument that already carries a graph keeps
it and the derivative is recorded with create_graph. jacfwd gives the same values as jacrev (it
is computed in reverse mode too). vmap maps a function over a batch dim by calling it once per
slice and stacking the results, so any function works and composes with the other transforms;
it gives the values of PyTorch's vmap, not its speed. functional_call runs a module with the
parameters and buffers of a dict, as meta-learning loops need.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from . import autograd
from .autograd.grad_mode import enable_grad, is_grad_enabled
from .autograd.graph_leaves import leaves_reached
from .tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
           "vjp", "vmap"]


# -- pytrees: tensors inside tuples, lists and dicts --------------------------------------------
def _flatten(tree) -> tuple[list, Any]:
    if isinstance(tree, Tensor):
        return [tree], None
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for item in tree:
            sub, spec = _flatten(item)
            leaves += sub
            specs.append((len(sub), spec))
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        for key, item in tree.items():
            sub, spec = _flatten(item)
            leaves += sub
            specs.append((key, len(sub), spec))
        return leaves, (dict, specs)
    return [], ("leaf", tree)


def _unflatten(leaves: list, spec):
    if spec is None:
        return leaves[0]
    kind, specs = spec
    if kind == "leaf":
        return specs
    if kind is dict:
        out, i = {}, 0
        for key, n, sub in specs:
            out[key] = _unflatten(leaves[i:i + n], sub)
            i += n
        return out
    items, i = [], 0
    for n, sub in specs:
        items.append(_unflatten(leaves[i:i + n], sub))
        i += n
    return kind(items) if kind is not tuple else tuple(items)


def _tracked(x: Tensor) -> Tensor:
    """x as a differentiable input: its own graph kept when it has one (a nested transform),
    else a fresh leaf."""
    if x.requires_grad:
        return x.view_as(x)
    return x.detach().requires_grad_(True)


def _grad_outside(values) -> tuple[bool, bool]:
    """(whether grad mode is on outside the transform, whether its results must keep a graph:
    on, with an input that already requires grad, as when transforms are nested)."""
    outside = is_grad_enabled()
    return outside, outside and any(t.requires_grad for v in values for t in _flatten(v)[0])


def _reaches_other_leaves(outputs, own: list) -> bool:
    """Whether the graph of `outputs` reaches a leaf that requires grad other than the
    transform's own inputs (a captured weight, say): then the derivative must keep its graph,
    so that gradients reach that leaf, as torch.func's do."""
    return bool(leaves_reached(outputs, exclude=own))


def _track_args(args: tuple, nums: tuple) -> tuple[list, dict]:
    """args with each differentiated argument's tensors made trackable (see _tracked), and
    for each such argument its (tracked leaves, pytree spec)."""
    args = list(args)
    diff = {}
    for a in nums:
        leaves, spec = _flatten(args[a])
        leaves = [_tracked(t) for t in leaves]
        diff[a] = (leaves, spec)
        args[a] = _unflatten(leaves, spec)
    return args, diff


def _argnums_tuple(argnums, n: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{name}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int) or not -n <= a < n:
            raise RuntimeError(f"{name}: Got argnums={argnums}, but only {n} positional "
                               "inputs")
    return tuple(a % n for a in nums)


# -- grad ------------------------------------------------------------------------------------------
def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """f -> (gradient of f's scalar output with respect to argument argnums, f's output)."""

    def wrapper(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "grad_and_value")
        is_grad_enabled_outside, nested = _grad_outside(args)
        with enable_grad():
            args, diff = _track_args(args, nums)
            result = func(*args, **kwargs)
            if has_aux and not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError("grad_and_value(f)(*args): output of function f should be a "
                                   "tuple: (output, aux) if has_aux is True")
            output, aux = result if has_aux else (result, None)
            if not isinstance(output, Tensor) or output.ndim != 0:
                shape = tuple(output.shape) if isinstance(output, Tensor) else type(output)
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got {shape}. Maybe you wanted to use the vjp "
                                   "or jacrev APIs instead?")
            flat = [t for a in nums for t in diff[a][0]]
            nested = nested or (is_grad_enabled_outside and _reaches_other_leaves([output], flat))
            grads = autograd.grad(output, flat, create_graph=nested, allow_unused=True) \
                if output.requires_grad else (None,) * len(flat)
        grads = [g if g is not None else x.detach() * 0 for g, x in zip(grads, flat)]
        if not nested:
            grads = [g.detach() for g in grads]
            output = output.detach()
        out, i = [], 0
        for a in nums:
            leaves, spec = diff[a]
            out.append(_unflatten(grads[i:i + len(leaves)], spec))
            i += len(leaves)
        g = out[0] if isinstance(argnums, int) else tuple(out)
        return (g, (output, aux)) if has_aux else (g, output)

    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """f -> the gradient of f's scalar output with respect to argument argnums (a tuple of
    them for a tuple argnums); with has_aux f returns (output, aux) and grad gives (grad, aux)."""
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# -- vjp, jvp, jacobians -------------------------------------------------------------------------
def vjp(func: Callable, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn): vjp_fn(cotangents) gives the vector-Jacobian products with
    respect to each primal (a tuple), as often as it is called."""
    outside, nested = _grad_outside(primals)
    return _vjp(func, primals, has_aux, nested, outside)


def _vjp(func: Callable, primals: tuple, has_aux: bool, nested: bool, outside: bool = False):
    """vjp, with the products recorded in a graph when `nested` (jvp differentiates them), or
    when `outside` grad mode is on and the output depends on a captured leaf."""
    with enable_grad():
        flats = [_flatten(p) for p in primals]
        leaves = [[_tracked(t) for t in f[0]] for f in flats]
        inputs = [_unflatten(lv, f[1]) for lv, f in zip(leaves, flats)]
        result = func(*inputs)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_spec = _flatten(output)
    all_inputs = [t for lv in leaves for t in lv]
    nested = nested or (outside and _reaches_other_leaves(out_leaves, all_inputs))

    def vjp_fn(cotangents):
        cots, _ = _flatten(cotangents)
        if len(cots) != len(out_leaves):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as "
                               f"pytree structure of outputs to the function: {len(cots)} "
                               f"tensors for {len(out_leaves)} outputs")
        pairs = [(o, c) for o, c in zip(out_leaves, cots) if o.requires_grad]
        with enable_grad():
            grads = autograd.grad([o for o, _ in pairs], all_inputs, [c for _, c in pairs],
                                  retain_graph=True, create_graph=nested, allow_unused=True) \
                if pairs else (None,) * len(all_inputs)
        grads = [g if g is not None else x.detach() * 0 for g, x in zip(grads, all_inputs)]
        if not nested:
            grads = [g.detach() for g in grads]
        out, i = [], 0
        for lv, f in zip(leaves, flats):
            out.append(_unflatten(grads[i:i + len(lv)], f[1]))
            i += len(lv)
        return tuple(out)

    vjp_fn.inputs = all_inputs  # the tracked copies of the primals (jvp needs them)
    value = output if nested else _unflatten([o.detach() for o in out_leaves], out_spec)
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def jvp(func: Callable, primals: tuple, tangents: tuple, *, has_aux: bool = False):
    """(func(*primals), the Jacobian-vector product with `tangents`), by the double-vjp
    identity: the jvp is the gradient, with respect to a dummy cotangent u, of <vjp(u), v>."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be "
                           "tuples")
    if len(primals) != len(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have "
                           "the same length")
    outside, nested = _grad_outside(primals)
    with enable_grad():
        result = _vjp(func, primals, has_aux, nested=True)
        output, vjp_fn = result[0], result[1]
        out_leaves, out_spec = _flatten(output)
        dummies = [o.detach().mul(0).requires_grad_(True) for o in out_leaves]
        back = vjp_fn(_unflatten(dummies, out_spec))
        total = None
        for b, v in zip(_flatten(back)[0], _flatten(tangents)[0]):
            term = (b * v).sum()
            total = term if total is None else total + term
        nested = nested or (outside and total is not None and _reaches_other_leaves(
            [total], dummies + vjp_fn.inputs))
        outs = autograd.grad(total, dummies, create_graph=nested, allow_unused=True) \
            if total is not None and total.requires_grad else (None,) * len(dummies)
    outs = [(o if nested else o.detach()) if o is not None else d.detach() * 0
            for o, d in zip(outs, dummies)]
    value = _unflatten([o if nested else o.detach() for o in out_leaves], out_spec)
    product = _unflatten(outs, out_spec)
    return (value, product, result[2]) if has_aux else (value, product)


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False, chunk_size=None) -> Callable:
    """f -> its Jacobian with respect to argument argnums: output.shape + input.shape blocks
    (nested per output and argument as PyTorch nests them)."""

    def wrapper(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "jacrev")
        outside, nested = _grad_outside(args)
        with enable_grad():
            args, diff = _track_args(args, nums)
            result = func(*args, **kwargs)
            output, aux = result if has_aux else (result, None)
            out_leaves, out_spec = _flatten(output)
            flat_in = [t for a in nums for t in diff[a][0]]
            nested = nested or (outside and _reaches_other_leaves(out_leaves, flat_in))
            blocks = [[_jacobian_block(o, x, nested) for x in flat_in] for o in out_leaves]
        per_output = []
        for row in blocks:
            parts, i = [], 0
            for a in nums:
                leaves, spec = diff[a]
                parts.append(_unflatten(row[i:i + len(leaves)], spec))
                i += len(leaves)
            per_output.append(parts[0] if isinstance(argnums, int) else tuple(parts))
        jac = _unflatten(per_output, out_spec) if out_spec is not None else per_output[0]
        return (jac, aux) if has_aux else jac

    return wrapper


def _jacobian_block(out: Tensor, x: Tensor, nested: bool) -> Tensor:
    from .ops.join import stack

    flat = out.reshape(-1)
    rows = []
    for k in range(flat.numel()):
        g = autograd.grad(flat[k], [x], retain_graph=True, create_graph=nested,
                          allow_unused=True)[0] if flat.requires_grad else None
        rows.append(g if g is not None else x.detach() * 0)
    if not rows:
        return x.detach().new_zeros(tuple(out.shape) + tuple(x.shape))
    block = stack(rows).reshape(tuple(out.shape) + tuple(x.shape))
    return block if nested else block.detach()


def jacfwd(func: Callable, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian, as jacrev (computed in reverse mode: the same values)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums=0) -> Callable:
    """f -> its second derivatives with respect to argument argnums."""
    return jacfwd(jacrev(func, argnums), argnums)


# -- vmap ------------------------------------------------------------------------------------------
def _batch_size(args, in_dims) -> int:
    sizes = set()
    for arg, dim in zip(args, in_dims):
        leaves, _ = _flatten(arg)
        dims = _flatten_dims(dim, arg)
        for t, d in zip(leaves, dims):
            if d is not None:
                if not -t.ndim <= d < t.ndim:
                    raise ValueError(f"vmap: Tried to map over dim {d} of a tensor with "
                                     f"{t.ndim} dims (shape {tuple(t.shape)})")
                sizes.add(t.shape[d])
    if not sizes:
        raise ValueError("vmap(f, in_dims=..., ...)(<inputs>): at least one input must be "
                         "mapped over (got in_dims that are all None)")
    if len(sizes) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sorted(sizes)} for the mapped dimension")
    return sizes.pop()


def _flatten_dims(dim, arg) -> list:
    leaves, _ = _flatten(arg)
    if dim is None or isinstance(dim, int):
        return [dim] * len(leaves)
    return _flatten_dim_tree(dim, arg)


def _flatten_dim_tree(dim, arg) -> list:
    if isinstance(arg, Tensor):
        return [dim]
    if isinstance(arg, (tuple, list)):
        dims = dim if isinstance(dim, (tuple, list)) else [dim] * len(arg)
        return [d for sub, sd in zip(arg, dims) for d in _flatten_dim_tree(sd, sub)]
    if isinstance(arg, dict):
        return [d for k, sub in arg.items()
                for d in _flatten_dim_tree(dim[k] if isinstance(dim, dict) else dim, sub)]
    return []


def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *,
         chunk_size=None) -> Callable:
    """f -> f mapped over dim in_dims of its inputs (None: not mapped), the results stacked
    along out_dims. randomness: 'error' refuses random draws inside f, 'different' gives each
    slice its own, 'same' the same draws for every slice."""
    from . import random as _random
    from .ops.join import stack

    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")

    def wrapper(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
                             f"compatible with the structure of `inputs`: {len(dims)} in_dims "
                             f"for {len(args)} inputs")
        n = _batch_size(args, dims)
        start = _random.get_rng_state()
        outputs = []
        for i in range(n):
            if randomness == "same":
                _random.set_rng_state(start)
            sliced = []
            for arg, dim in zip(args, dims):
                leaves, spec = _flatten(arg)
                ds = _flatten_dims(dim, arg)
                sliced.append(_unflatten([t.select(d, i) if d is not None else t
                                          for t, d in zip(leaves, ds)], spec))
            before = _random.get_rng_state() if randomness == "error" else None
            outputs.append(func(*sliced, **kwargs))
            if before is not None and not _same_state(before, _random.get_rng_state()):
                raise RuntimeError("vmap: called random operation while in randomness error "
                                   "mode. Please either use the 'same' or 'different' "
                                   "randomness flags on vmap or perform the randomness "
                                   "operation out of vmap")
        if not outputs:
            raise ValueError("vmap: the mapped dimension has size 0; there is no slice to "
                             "call the function on")
        flat = [_flatten(o) for o in outputs]
        spec = flat[0][1]
        n_out = len(flat[0][0])
        if not n_out:
            raise ValueError(f"vmap: `{getattr(func, '__name__', func)}` must only return "
                             f"Tensors, got type {type(outputs[0]).__name__}")
        odims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * n_out
        if len(odims) != n_out:
            raise ValueError(f"vmap: out_dims={out_dims} has {len(odims)} entries for "
                             f"{n_out} outputs")
        stacked = []
        for j in range(n_out):
            if odims[j] is None:  # not mapped: every slice gave the same value
                stacked.append(flat[0][0][j])
            else:
                stacked.append(stack([f[0][j] for f in flat],
                                     odims[j] % (flat[0][0][j].ndim + 1)))
        return _unflatten(stacked, spec)

    return wrapper


def _same_state(a: dict, b: dict) -> bool:
    import numpy as np

    try:
        return all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) if not isinstance(
            a[k], dict) else _same_state(a[k], b[k]) for k in a)
    except (KeyError, TypeError, ValueError):
        return a == b


# -- functional_call ---------------------------------------------------------------------------
@contextlib.contextmanager
def _swapped(module, tensors: dict, strict: bool):
    saved = []
    names = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
    if strict:
        missing = sorted(names - set(tensors))
        unexpected = sorted(set(tensors) - names)
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}: "
                               f"missing keys {missing}, unexpected keys {unexpected}")
    try:
        for name, value in tensors.items():
            *path, leaf = name.split(".")
            owner = module
            for part in path:
                owner = getattr(owner, part)
            for registry in ("_parameters", "_buffers"):
                reg = owner.__dict__[registry]
                if leaf in reg:
                    saved.append((reg, leaf, reg[leaf]))
                    reg[leaf] = value
                    break
            else:
                raise AttributeError(f"functional_call: {type(module).__name__} has no "
                                     f"parameter or buffer named {name!r}")
        yield
    finally:
        for reg, leaf, old in reversed(saved):
            reg[leaf] = old


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """module(*args, **kwargs) with the named parameters and buffers of the dict(s) in place of
    its own (they may be any tensors: results of a graph, for higher-order meta-learning)."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        merged = dict(dicts)
    else:
        merged = {}
        for d in dicts:
            overlap = set(merged) & set(d)
            if overlap:
                raise ValueError(f"{sorted(overlap)} appeared in multiple dictionaries; behavior "
                                 "of functional call is ambiguous")
            merged.update(d)
    if tie_weights:
        merged = _tied(module, merged)
    args = args if isinstance(args, tuple) else (args,)
    with _swapped(module, merged, strict):
        return module(*args, **(kwargs or {}))


def _tied(module, given: dict) -> dict:
    """`given` extended to every other name of a tensor the module shares between names (tied
    weights), refusing two different values for one tied tensor, as PyTorch does."""
    groups: dict[int, list[str]] = {}
    for name, t in list(module.named_parameters(remove_duplicate=False)) + list(
            module.named_buffers(remove_duplicate=False)):
        groups.setdefault(id(t), []).append(name)
    out = dict(given)
    for names in groups.values():
        if len(names) < 2:
            continue
        provided = [n for n in names if n in given]
        if not provided:
            continue
        value = given[provided[0]]
        for n in provided[1:]:
            if given[n] is not value:
                raise ValueError(f"functional_call got multiple values for keys {provided}, "
                                 "which are tied. Consider using tie_weights=False")
        for n in names:
            out.setdefault(n, value)
    return out
