"""`torchlite runs` and `torchlite compare`: the runs under a folder as a collection."""

from __future__ import annotations

from pathlib import Path

import typer

from . import display


def runs(
    root: Path = typer.Argument(Path("runs"), help="Folder holding run folders."),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List runs: name, status, best metric and epoch, test metrics, duration, created."""
    from torchlite.training.run_list import list_runs

    from .main import _run

    found = _run(list_runs, root)
    if as_json:
        display.print_json(found)
    else:
        display.runs_table(found, root)


def compare(
    runs: list[str] = typer.Argument(..., help="Run folders (or run names under --root)."),
    root: Path = typer.Option(Path("runs"), help="Where run names are looked up."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    plot: bool = typer.Option(False, "--plot", help="Also overlay their curves (--metric; "
                              "needs the plot extra) into compare/ beside the first run."),
    metric: str | None = typer.Option(None, help="The metrics.csv column --plot overlays "
                                      "(default val/loss, or train/loss without validation)."),
) -> None:
    """Compare runs: the config keys that differ and their metrics, side by side."""
    from torchlite.training.run_list import compare_runs

    from .main import _run

    result = _run(compare_runs, runs, root)
    if plot:
        from torchlite.training import plots

        drawn = _run(plots.write_overlay, [Path(p) for p in result["paths"]], metric, None)
        result["plot"] = str(drawn[0])
    if as_json:
        display.print_json(result)
    else:
        display.compare_table(result)

