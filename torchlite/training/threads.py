"""How much arithmetic one training step of a model holds, for the thread policy of
`torchlite._parallel.thread_policy`, and applying that policy to a built model."""

from __future__ import annotations

from collections.abc import Sequence

import torchlite
from torchlite._parallel import ThreadChoice, apply_threads, thread_policy

__all__ = ["choose_threads", "step_macs"]


def step_macs(model, input_shape: Sequence[int], batch_size: int) -> float:
    """Multiply-adds of one training step, estimated: every weight of a leaf module is used once
    per output position (a Linear's once per sample, a Conv's once per output pixel), and the
    backward pass costs twice the forward. One sample goes forward to see the output sizes."""
    per_sample = [0.0]
    hooks = []

    def hook(mod, inputs, output) -> None:
        own = sum(p.numel() for p in mod.parameters(recurse=False))
        shape = getattr(output, "shape", None)
        positions = 1
        if shape is not None and len(shape) > 2:
            for n in shape[2:]:
                positions *= int(n)
        per_sample[0] += own * positions

    for _, mod in model.named_modules():
        if not list(mod.children()):
            hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        device = next((p.device for p in model.parameters()), "cpu")
        with torchlite.no_grad():
            model(torchlite.zeros((1, *input_shape), device=device))
    except Exception:  # a model that cannot take a zero sample: count each weight once
        per_sample[0] = float(sum(p.numel() for p in model.parameters()))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return 3.0 * per_sample[0] * batch_size


def choose_threads(requested: int | None, model=None, input_shape=None,
                   batch_size: int | None = None) -> ThreadChoice:
    """Pick and apply the thread count for a job on `model` (see `thread_policy`)."""
    work = None
    if requested is None and model is not None and input_shape is not None and batch_size:
        work = step_macs(model, input_shape, batch_size)
    return apply_threads(thread_policy(requested, work))
