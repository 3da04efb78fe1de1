"""`torchlite.backends.mha`: PyTorch's switch for multi-head attention's inference fast path.

torchlite has one implementation of attention, but PyTorch's fast path gives NaN (not 0) for a
query whose keys are all masked; nn.MultiheadAttention follows whichever path PyTorch would
take, and this switch turns that path off as in PyTorch.
"""

from __future__ import annotations

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]

_enabled = True


def get_fastpath_enabled() -> bool:
    """Whether the fast path of nn.MultiheadAttention (and the transformer layers) is on."""
    return _enabled


def set_fastpath_enabled(value: bool) -> None:
    """Turn the fast path on or off (on by default)."""
    global _enabled
    _enabled = bool(value)
