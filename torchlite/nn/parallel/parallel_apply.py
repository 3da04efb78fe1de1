"""parallel_apply, as torch.nn.parallel.parallel_apply: run each replica on its input in its
own thread (NumPy and CuPy release the GIL in their kernels), on its device, in the caller's
grad mode; the first exception is raised again in the caller, naming the replica."""

from __future__ import annotations

import threading
from typing import Any

from ... import backend
from ...autograd import grad_mode
from ..module import Module
from .scatter_gather import as_device

__all__ = ["parallel_apply"]


def _run(module: Module, inp: Any, kwargs: dict, dev: backend.device | None,
         grad_enabled: bool) -> Any:
    if not isinstance(inp, (list, tuple)):
        inp = (inp,)
    with grad_mode.set_grad_enabled(grad_enabled):
        if dev is not None and dev.type == "cuda":
            with backend.cuda_device_context(dev.index or 0):
                return module(*inp, **kwargs)
        return module(*inp, **kwargs)


def parallel_apply(modules: list[Module], inputs: list, kwargs_tup: tuple | None = None,
                   devices: list | None = None) -> list:
    """`[modules[i](*inputs[i], **kwargs_tup[i]) for i]`, one thread per module."""
    if len(modules) != len(inputs):
        raise ValueError(f"parallel_apply: {len(modules)} modules for {len(inputs)} inputs")
    kwargs_tup = tuple(kwargs_tup) if kwargs_tup is not None else ({},) * len(modules)
    devs = [None if d is None else as_device(d) for d in (devices or [None] * len(modules))]
    grad_enabled = grad_mode.is_grad_enabled()
    if len(modules) == 1:
        return [_run(modules[0], inputs[0], kwargs_tup[0], devs[0], grad_enabled)]
    results: dict[int, Any] = {}
    errors: dict[int, BaseException] = {}

    def worker(i: int) -> None:
        try:
            results[i] = _run(modules[i], inputs[i], kwargs_tup[i], devs[i], grad_enabled)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            errors[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(modules))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(len(modules)):
        if i in errors:
            exc = errors[i]
            try:
                named = type(exc)(f"Caught {type(exc).__name__} in replica {i} on device "
                                  f"{devs[i]}: {exc}")
            except Exception:  # an exception class with its own constructor arguments
                raise exc from None
            raise named from exc
    return [results[i] for i in range(len(modules))]
