"""`torchlite export RUN_OR_CHECKPOINT --format onnx`: a deployment file, checked in ONNX
Runtime (the work is torchlite.training.export.export_checkpoint)."""

from __future__ import annotations

from pathlib import Path

import typer

from . import display

_MODEL_CODE_HELP = ("The .py file (or package.module) defining a custom model's class, "
                    "optionally FILE.py:Class. A checkpoint alone never makes torchlite run code.")
_TRUST_HELP = "Import the custom model code that the checkpoint names (only for files you trust)."


def export(
    checkpoint: str | None = typer.Argument(
        None, help="Checkpoint file or run folder (default: the latest run)."),
    fmt: str = typer.Option("onnx", "--format", help="onnx (needs the onnx extra: pip install "
                            "'torchlite[onnx]')."),
    output: Path | None = typer.Option(
        None, help="File to write (default: beside the checkpoint, suffix .onnx)."),
    opset: int = typer.Option(17, help="ONNX opset version (14 to 21)."),
    dynamic_batch: bool = typer.Option(False, "--dynamic-batch", help="Any batch size at run "
                                       "time (default: batches of 1)."),
    include_preprocessing: bool = typer.Option(
        False, "--include-preprocessing", help="Put the stored input normalisation into the "
        "graph, so the file takes raw inputs as infer does."),
    model_code: str | None = typer.Option(None, help=_MODEL_CODE_HELP),
    trust_model_code: bool = typer.Option(False, "--trust-model-code", help=_TRUST_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Export a trained model for deployment (ONNX), check it in ONNX Runtime on real inputs
    and print the largest difference from torchlite's own outputs."""
    from torchlite.training.export import export_checkpoint

    from .main import _run

    result = _run(export_checkpoint, checkpoint, fmt=fmt, output=output, opset=opset,
                  dynamic_batch=dynamic_batch, include_preprocessing=include_preprocessing,
                  model_code=model_code, trust_model_code=trust_model_code)
    if as_json:
        display.print_json(result)
    else:
        display.export_result(result)
