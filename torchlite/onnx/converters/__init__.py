"""The converters: for each op class, a function that emits its ONNX nodes.

One table, keyed by the op classes themselves (the ops' own registry is the capture: this maps
what it records to ONNX, family by family as torchlite's op files are laid out).
"""

from __future__ import annotations

from typing import Any

_TABLE: dict[type, Any] | None = None


def table() -> dict[type, Any]:
    """Op class -> converter(builder, op_call), built on first use."""
    global _TABLE
    if _TABLE is None:
        from . import elementwise, nn, quantized, reduce, rnn, shape

        t: dict[type, Any] = {}
        for family in (elementwise, reduce, shape, nn, rnn, quantized):
            t.update(family.converters())
        _TABLE = t
    return _TABLE


def atomic_modules() -> tuple[type, ...]:
    """The module classes captured whole, as one op (see capture.Capture)."""
    from . import quantized

    return quantized.modules()
