"""Helpers the distributions share: broadcasting parameters, probabilities <-> logits, and
lazily computed properties."""

from __future__ import annotations

import numbers

import torchlite
from torchlite.tensor import Tensor


def broadcast_all(*values):
    """Tensors (numbers become tensors of the others' dtype, or the default dtype) broadcast
    to one shape."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or Tensor.")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = like.dtype if like is not None else torchlite.get_default_dtype()
    device = like.device if like is not None else None
    tensors = [v if isinstance(v, Tensor) else torchlite.tensor(float(v), dtype=dtype,
                                                                 device=device)
               for v in values]
    return torchlite.broadcast_tensors(*tensors)


def clamp_probs(probs: Tensor) -> Tensor:
    eps = torchlite.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    p = clamp_probs(probs)
    return torchlite.log(p) - torchlite.log1p(-p) if is_binary else torchlite.log(p)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    return torchlite.sigmoid(logits) if is_binary else torchlite.softmax(logits, -1)


class lazy_property:  # noqa: N801 (PyTorch's name)
    """A property computed on first access and then stored on the instance."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with torchlite.enable_grad():
            value = self.fn(instance)
        setattr(instance, self.fn.__name__, value)
        return value
