"""`torch.utils.checkpoint`: activation checkpointing. A checkpointed function runs its forward
without keeping the graph (its activations are freed) and runs it again during backward, so
memory is traded for one more forward pass.

As PyTorch's, the random-number state at the call is restored for the rerun (preserve_rng_state,
the default), so dropout draws the same masks, and the state after the rerun is put back, so
the draws that follow are unchanged. The rerun happens when backward reaches the checkpoint,
and back-propagates through the rerun graph: the tensor inputs get their gradients as from
any op, and the parameters the function uses (a module's weights) have theirs accumulated into
`.grad` there, as with PyTorch's reentrant variant. So `autograd.grad` with respect to the
inputs works, but not with respect to parameters used inside the checkpoint; both values of
use_reentrant run this one implementation.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import random as _random
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    """forward: fn under no_grad; backward: fn again with a graph, then back-propagate the
    incoming gradients through it, into the tensor inputs (returned) and into whatever else
    the function used that requires grad (parameters: accumulated where they are)."""

    @staticmethod
    def forward(ctx, fn, preserve_rng, kwargs, *args):
        ctx.run_fn, ctx.kwargs = fn, kwargs  # (ctx.fn is the Function class: the engine reads it)
        ctx.rng_state = _random.get_rng_state() if preserve_rng else None
        ctx.tensor_index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.args = list(args)
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_index))
        with grad_mode.no_grad():
            out = fn(*args, **kwargs)
        ctx.tuple_out = isinstance(out, tuple)
        return out

    @staticmethod
    def backward(ctx, *grads):
        from .. import autograd

        saved = ctx.saved_tensors
        args = list(ctx.args)
        inputs = []
        for i, t in zip(ctx.tensor_index, saved):
            leaf = t.detach()
            leaf.requires_grad_(bool(ctx.needs_input_grad[3 + i]) and t.is_floating_point())
            args[i] = leaf
            inputs.append(leaf)
        after = None
        if ctx.rng_state is not None:
            after = _random.get_rng_state()
            _random.set_rng_state(ctx.rng_state)
        try:
            with grad_mode.enable_grad():
                out = ctx.run_fn(*args, **ctx.kwargs)
        finally:
            if after is not None:
                _random.set_rng_state(after)
        outs = out if isinstance(out, tuple) else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        input_grads = [x.grad if x.requires_grad else None for x in inputs]
        result: list[Any] = [None, None, None] + [None] * len(args)
        for i, g in zip(ctx.tensor_index, input_grads):
            result[3 + i] = g
        return tuple(result)


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=None,
               determinism_check: str = "default", debug: bool = False,
               preserve_rng_state: bool = True, **kwargs):
    """function(*args, **kwargs) without keeping its activations: they are recomputed in
    backward. use_reentrant must be given (True or False), as PyTorch asks; with
    use_reentrant=True at least one input must require grad for gradients to flow, as in
    PyTorch."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed "
                      "explicitly. Pass use_reentrant=False (recommended) or True.",
                      stacklevel=2)
        use_reentrant = True
    if context_fn is not None and use_reentrant:
        raise ValueError("Passing `context_fn` is only supported when use_reentrant=False.")
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not grad_mode.is_grad_enabled():
        return function(*args, **kwargs)
    if use_reentrant and not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)
        return _no_graph(function, args, kwargs)
    return _Checkpoint.apply(function, preserve_rng_state, kwargs, *args)


def _no_graph(function, args, kwargs):
    with grad_mode.no_grad():
        return function(*args, **kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Run a Sequential (or list of modules) in `segments` checkpointed chunks; the last chunk
    runs normally (its activations are needed first in backward anyway)."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant "
                      "parameter should be passed explicitly.", stacklevel=2)
        use_reentrant = True
    layers = list(functions.children()) if hasattr(functions, "children") and not isinstance(
        functions, (list, tuple)) else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    size = max(len(layers) // segments, 1)

    def run(start, end):
        def forward(x):
            for layer in layers[start:end + 1]:
                x = layer(x)
            return x
        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(layers) - 1)(input)
