"""`torchlite lr-find CONFIG`: the learning-rate range test, its plot and `--apply`."""

from __future__ import annotations

from pathlib import Path

import typer

from . import display


def lr_find(
    config: Path = typer.Argument(..., help="YAML config file."),
    overrides: list[str] | None = typer.Argument(None, help="Overrides a.b=c."),
    start_lr: float = typer.Option(1e-7, help="First learning rate of the sweep."),
    end_lr: float = typer.Option(10.0, help="Last learning rate of the sweep."),
    steps: int = typer.Option(100, min=5, help="Batches in the sweep (the lr grows "
                              "exponentially from one to the next)."),
    smoothing: float = typer.Option(0.98, help="Exponential moving average factor of the loss."),
    plot: Path | None = typer.Option(
        None, help="Picture to write (.png, .svg, .pdf; default <output.root>/lr_find/"
        "<name>.png; needs the plot extra)."),
    no_plot: bool = typer.Option(False, "--no-plot", help="Draw no picture."),
    apply: bool = typer.Option(False, "--apply", help="Write a copy of the config with "
                               "optimizer.lr set to the suggestion (CONFIG_lr.yaml beside it)."),
    device: str | None = typer.Option(None, help="auto | cpu | cuda | cuda:N"),
    threads: int | None = typer.Option(None, min=1, help="CPU threads (see train --threads)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Find a learning rate: train briefly while the lr grows exponentially, and suggest the
    lr where the smoothed loss falls fastest (Smith's range test). Writes no run folder."""
    from torchlite.training import lr_find as lf

    from .main import _run

    result = _run(lf.lr_find, config, overrides or [], start_lr=start_lr, end_lr=end_lr,
                  num_steps=steps, smoothing=smoothing, device=device, threads=threads)
    if not no_plot:
        from torchlite.training import plots

        target = plot or Path(result["output_root"]) / "lr_find" / f"{result['name']}.png"
        try:
            result["plot"] = str(lf.lr_plot(result, target))
        except plots.PlotsUnavailableError:
            result["plot_error"] = f"plot skipped: {plots.PLOT_EXTRA}"
        except OSError as exc:
            result["plot_error"] = f"plot not written: {exc}"
    if apply:
        if result["suggested_lr"] is None:
            display.error("lr-find --apply: no suggestion (the sweep was too short or diverged "
                          "at once); try more --steps or a lower --start-lr")
            raise typer.Exit(4)
        result["applied_config"] = str(_run(lf.apply_lr, config, result["suggested_lr"]))
    if as_json:
        display.print_json(result)
    else:
        display.lr_find_result(result)
