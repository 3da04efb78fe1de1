"""Export to ONNX, as `torch.onnx`.

`export(model, args, f, ...)` runs one forward pass with an op recorder attached (the capture
that the profiler also uses, torchlite/autograd/record.py), maps every recorded op to ONNX
operators and writes the model with the `onnx` package. This module imports without `onnx`
installed; only `export` needs it (``pip install 'torchlite[onnx]'``).
"""

from __future__ import annotations

import enum
from typing import Any

from .errors import OnnxExporterError, UnsupportedOperatorError

__all__ = ["OnnxExporterError", "OperatorExportTypes", "TrainingMode", "UnsupportedOperatorError",
           "export", "is_in_onnx_export"]


class TrainingMode(enum.IntEnum):
    """The mode the model is exported in (PyTorch's values)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """Accepted for PyTorch compatibility; torchlite exports standard ONNX operators only."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def is_in_onnx_export() -> bool:
    """Whether an export is running (a model's forward may ask)."""
    from . import capture

    return capture.exporting()


def export(model: Any, args: Any, f: Any, input_names: list[str] | None = None,
           output_names: list[str] | None = None, dynamic_axes: dict | None = None,
           opset_version: int | None = 17, do_constant_folding: bool = True,
           training: TrainingMode = TrainingMode.EVAL, export_params: bool = True,
           verbose: bool = False, keep_initializers_as_inputs: bool | None = None,
           **kwargs: Any) -> None:
    """Trace `model(*args)` once and write it to `f` (a path or a binary file object) as ONNX.

    `args`: a Tensor, or a tuple of positional Tensors (a trailing dict is taken as keyword
    arguments, as in PyTorch). `dynamic_axes`: ``{name: {axis: "label"}}`` or ``{name: [axis]}``
    for inputs and outputs whose sizes vary (the batch, typically); shapes the model computes
    from those sizes become Shape/Gather/Concat nodes. `do_constant_folding`: ops whose inputs
    are all parameters or constants are replaced by their value. An op that has no ONNX form
    raises UnsupportedOperatorError naming it and the module that called it.
    """
    from .exporter import export as _export

    _export(model, args, f, input_names=input_names, output_names=output_names,
            dynamic_axes=dynamic_axes, opset_version=17 if opset_version is None
            else opset_version, do_constant_folding=do_constant_folding, training=training,
            export_params=export_params, verbose=verbose,
            keep_initializers_as_inputs=keep_initializers_as_inputs, **kwargs)
