"""`torch.utils.checkpoint`: activation checkpointing. A checkpointed function runs its forward
without keeping the graph (its activations are freed) and runs it again during backward, so
memory is traded for one more forward pass.

As PyTorch's, the random-number state at the call is restored for the rerun (preserve_rng_state,
the default), so dropout draws the same masks, and the state after the rerun is put back, so
the draws that follow are unchanged.

The forward runs once with a graph, only to learn which tensors that require grad it reaches (a
module's weights, captured tensors); the graph and its activations are dropped at once, and
those tensors become inputs of the checkpoint node. Backward reruns the function and hands
each input and each such tensor its gradient, so `backward` and `autograd.grad` (with respect
to the inputs or to the weights) both work, and a first block whose input needs no gradient
still trains its weights, as with PyTorch's use_reentrant=False. With use_reentrant=True,
as in PyTorch, nothing flows unless an input requires grad.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import random as _random
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.graph_leaves import leaves_reached
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    """forward: the outputs computed beforehand (without their graph); backward: the function
    again with a graph, and the gradients of its tensor inputs and of the leaves it reaches."""

    @staticmethod
    def forward(ctx, fn, rng_state, kwargs, n_args, held, *tensors):
        ctx.run_fn, ctx.kwargs = fn, kwargs  # (ctx.fn is the Function class: the engine reads it)
        ctx.rng_state = rng_state
        args = tensors[:n_args]
        ctx.tensor_index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.args = list(args)
        ctx.n_args = n_args
        # forward sees detached copies of its tensor arguments: the leaves themselves (to take
        # gradients with respect to) come in `held`, with the precomputed outputs
        ctx.leaves = held.leaves
        outputs = held.outputs
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_index))
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        from .. import autograd

        saved = ctx.saved_tensors
        args = list(ctx.args)
        inputs = []
        for i, t in zip(ctx.tensor_index, saved):
            leaf = t.detach()
            leaf.requires_grad_(bool(ctx.needs_input_grad[5 + i]) and t.is_floating_point())
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
        wrt = [x for x in inputs if x.requires_grad] + ctx.leaves
        found = autograd.grad([o for o, _ in pairs], wrt, [g for _, g in pairs],
                              allow_unused=True) if pairs and wrt else [None] * len(wrt)
        by_input = dict(zip((id(x) for x in wrt), found))
        result: list[Any] = [None] * (5 + ctx.n_args + len(ctx.leaves))
        for i, x in zip(ctx.tensor_index, inputs):
            result[5 + i] = by_input.get(id(x))
        for k, leaf in enumerate(ctx.leaves):
            result[5 + ctx.n_args + k] = by_input.get(id(leaf))
        return tuple(result)


class _Held:
    """What the checkpoint node takes as a plain object: its outputs and the leaves."""

    def __init__(self, outputs, leaves: list) -> None:
        self.outputs, self.leaves = outputs, leaves


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
    rng_state = _random.get_rng_state() if preserve_rng_state else None
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    with grad_mode.enable_grad():
        out = function(*args, **kwargs)
    is_tuple = isinstance(out, tuple)
    outs = out if is_tuple else (out,)
    leaves = leaves_reached(outs, exclude=tensor_args)
    detached = tuple(o.detach() if isinstance(o, Tensor) else o for o in outs)
    del out, outs  # the graph of this run, and the activations it holds, go here
    if not leaves and not any(t.requires_grad for t in tensor_args):
        return detached if is_tuple else detached[0]  # nothing to differentiate
    held = _Held(detached if is_tuple else detached[0], leaves)
    return _Checkpoint.apply(function, rng_state, kwargs, len(args), held, *args, *leaves)


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
