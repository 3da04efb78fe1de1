"""The exceptions ops raise where PyTorch's class differs from the one torchlite raised first.

Each subclasses PyTorch's class, so code that catches what PyTorch raises behaves the same, and
the built-in type torchlite raised before, so code written against torchlite keeps working.
"""

from __future__ import annotations


class BadArgumentError(RuntimeError, ValueError):
    """A bad argument PyTorch reports as RuntimeError (einsum subscripts that do not fit,
    rounding_mode, a dim repeated in flip); a ValueError too."""


class DtypeNotImplementedError(NotImplementedError, TypeError):
    """An op called on a dtype it has no kernel for. PyTorch raises NotImplementedError (a
    RuntimeError); it is a TypeError too."""
