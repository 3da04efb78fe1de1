"""`torchlite quantize`: a trained run's model to int8, with size and accuracy before/after."""

from __future__ import annotations

import typer

from . import display


def quantize(
    target: str | None = typer.Argument(
        None, help="Run folder or float checkpoint (default: the latest run)."),
    mode: str = typer.Option("dynamic", help="dynamic (Linear/LSTM/GRU weights int8, "
                             "activations per batch) | static (calibrated; every layer int8) | "
                             "qat (static, after quantization-aware fine-tuning)."),
    calibration_batches: int = typer.Option(
        10, min=1, help="Training batches that calibrate static quantization."),
    per_channel: bool | None = typer.Option(
        None, "--per-channel/--per-tensor",
        help="One weight scale per output channel, or one per tensor  [default: per tensor; "
        "qat: per channel, as PyTorch's x86 QAT qconfig]"),
    epochs: int | None = typer.Option(
        None, min=1, help="qat: epochs of fine-tuning  [default: 3]"),
    lr: float | None = typer.Option(
        None, help="qat: learning rate of the fine-tuning  [default: the config's / 10]"),
    output: str | None = typer.Option(
        None, help="Where to write (default: weights/quantized.safetensors in the run)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Quantize a trained model to int8: writes weights/quantized.safetensors and prints the
    size and test accuracy before and after (eval, infer and summary accept the file)."""
    from torchlite.training.quantize import quantize_checkpoint

    from .main import _run

    if mode not in ("dynamic", "static", "qat"):
        display.error(f"--mode must be dynamic, static or qat, got {mode!r}")
        raise typer.Exit(2)
    if mode != "qat" and (epochs is not None or lr is not None):
        display.error("--epochs and --lr set the fine-tuning of --mode qat")
        raise typer.Exit(2)
    progress = None if as_json else display.qat_epoch
    rep = _run(quantize_checkpoint, target, mode=mode, calibration_batches=calibration_batches,
               per_channel=per_channel, output=output, epochs=epochs, lr=lr, progress=progress)
    if as_json:
        display.print_json(rep)
        return
    display.quantize_result(rep)

