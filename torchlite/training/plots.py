"""Pictures of runs and evaluations, drawn with matplotlib (the optional `plot` extra).

    runs/<name>/plots/loss.png        train and val loss against epoch
    runs/<name>/plots/<metric>.png    train and val <metric> against epoch, one file per metric
    runs/<name>/plots/lr.png          the learning rate against epoch
    runs/<name>/eval/confusion_matrix.png | predicted_vs_true.png   written by `torchlite eval`

The run plots are drawn from the run's metrics.csv and summary.json alone (the best epoch is
marked), so any run can be drawn again later; `overlay_figure` puts one column of several runs
on one set of axes. Each `*_figure` function returns a matplotlib Figure, which tests (and
notebooks) can inspect; the `write_*` functions save them as PNG files, atomically.

matplotlib is imported here only, when a picture is drawn. Figures are made with
`matplotlib.figure.Figure` and an Agg canvas, never through pyplot: the user's pyplot state,
backend and open figures are left alone. Without matplotlib the functions raise
PlotsUnavailableError, whose message says what to install.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BadUsageError, DataError, InputNotFoundError, UsageError
from ..serialization import atomic_write_bytes
from .run_guard import link_error

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "EVAL_PLOTS", "PLOT_EXTRA", "PlotsUnavailableError", "RunHistory", "confusion_figure",
    "curve_figure", "eval_figure", "lr_figure", "overlay_figure", "plot_runs", "read_run",
    "run_figures", "save_figure", "scatter_figure", "write_eval_plot", "write_overlay",
    "write_run_plots",
]

PLOT_EXTRA = "pip install 'torchlite[plot]'"
FORMATS = (".png", ".svg", ".pdf")
_MARKERS_UP_TO = 30  # epochs drawn with a marker on each point (a few points are hard to see)
_NAME_CHARS = 24  # longer class and run names are cut (with an ellipsis) so labels never collide
_MIN_COUNT_PT = 6.0  # confusion-matrix counts smaller than this (points) are left out
_NAMED_TICKS_UP_TO = 40  # classes whose every name fits on an axis


class PlotsUnavailableError(BadUsageError, ImportError):
    """matplotlib is not installed (exit code 2: the fix is `pip install 'torchlite[plot]'`)."""


# -- matplotlib, lazily ---------------------------------------------------------------------------
def _new_figure(width: float, height: float) -> Figure:
    """A Figure on its own Agg canvas (no pyplot, no global backend switch)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsUnavailableError(f"matplotlib is not installed: {PLOT_EXTRA}") from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Render `fig` (format from the suffix: .png, .svg or .pdf) and write it atomically."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    return atomic_write_bytes(path, buf.getvalue())


def _short(text: str, limit: int = _NAME_CHARS) -> str:
    """`text` cut to `limit` characters in the middle, so that names sharing a long prefix (or
    suffix) stay apart."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "\u2026" + text[len(text) - (limit - 1 - head):]


def _short_names(names: Sequence[str], limit: int = _NAME_CHARS) -> list[str]:
    """Names cut to `limit` characters, keeping the part that tells them apart: when cutting
    in the middle would make two alike (names that differ only inside, like `...number 3
    with words`), each keeps its start, then the part between the common prefix and suffix."""
    names = [str(n) for n in names]
    cut = [_short(n, limit) for n in names]
    if len(set(cut)) == len(set(names)):
        return cut
    p = len(os.path.commonprefix(names))
    s = len(os.path.commonprefix([n[::-1] for n in names]))
    out = []
    for n in names:
        core = n[p:len(n) - min(s, len(n) - p)]
        tail = "\u2026" if len(n) - p > len(core) else ""
        room = limit - len(core) - len(tail) - 1
        out.append(n[:room] + "\u2026" + core + tail if room > 0 and p > room
                   else _short(core, limit))
    return out


# -- a run's history ------------------------------------------------------------------------------
@dataclass
class RunHistory:
    """A run's metrics.csv as float columns (NaN where empty or not finite) and its best epoch
    (from summary.json, when the run wrote one)."""

    name: str
    columns: dict[str, np.ndarray]
    best_epoch: int | None = None
    monitor: str | None = None
    best_value: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> np.ndarray:
        return self.columns["epoch"]

    @property
    def metrics(self) -> list[str]:
        """The metric names with a train/ or val/ column (loss first), in the file's order."""
        names = [c.split("/", 1)[1] for c in self.columns if "/" in c]
        return list(dict.fromkeys(["loss", *names])) if "train/loss" in self.columns \
            else list(dict.fromkeys(names))


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def read_run(run_dir: str | Path) -> RunHistory:
    """The history of the run in `run_dir` (its metrics.csv and, if present, summary.json)."""
    root = Path(run_dir)
    path = root / "metrics.csv"
    if not path.is_file():
        raise InputNotFoundError(f"{root}: no metrics.csv (not a run folder, or no epoch of "
                                 "the run has finished yet)")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable metrics.csv ({exc})") from None
    if "epoch" not in header:
        raise DataError(f"{path}: not a metrics.csv (no epoch column; columns: "
                        f"{', '.join(header) or 'none'})")
    columns = {h: np.array([_float(r.get(h) or "") for r in rows], dtype=np.float64)
               for h in header}
    for v in columns.values():
        v[~np.isfinite(v)] = np.nan
    history = RunHistory(root.resolve().name, columns)
    try:
        summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a run still going (or killed) has no summary yet
        summary = {}
    if isinstance(summary, dict):
        history.summary = summary
        if isinstance(summary.get("best_epoch"), int):
            history.best_epoch = summary["best_epoch"]
            history.monitor = summary.get("monitor")
            value = summary.get("best_value")
            history.best_value = float(value) if isinstance(value, (int, float)) else None
    return history


# -- curves ---------------------------------------------------------------------------------------
def _line(ax: Axes, x: np.ndarray, y: np.ndarray, label: str, markers: bool | None = None,
          **kw) -> bool:
    """Draw one series; non-finite points are left out and counted in the legend. Returns
    whether anything finite was drawn."""
    finite = np.isfinite(y)
    missing = int((~finite).sum())
    if missing == len(y):
        label += " (no finite values)"
    elif missing:
        label += f" ({missing} non-finite, not drawn)"
    if markers is None:
        markers = len(x) <= _MARKERS_UP_TO
    marker = "o" if markers else None
    ax.plot(x, y, label=label, marker=marker, markersize=4, linewidth=1.6, **kw)
    return bool(finite.any())


def _epoch_axis(ax: Axes, epochs: np.ndarray) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    finite = epochs[np.isfinite(epochs)]
    if finite.size and finite.min() == finite.max():  # one epoch: give the point some room
        ax.set_xlim(finite.min() - 1, finite.max() + 1)
    ax.grid(True, alpha=0.3)


def _mark_best(ax: Axes, history: RunHistory) -> None:
    if history.best_epoch is None:
        return
    label = f"best epoch {history.best_epoch}"
    if history.monitor and history.best_value is not None:
        label += f" ({history.monitor} {history.best_value:.4g})"
    ax.axvline(history.best_epoch, color="0.35", linestyle="--", linewidth=1.2, label=label)


def _nothing_drawn(ax: Axes, epochs: np.ndarray) -> None:
    """Say so in the axes, which span the run's epochs (not a made-up range around 0)."""
    ax.text(0.5, 0.5, "no finite values to draw", transform=ax.transAxes, ha="center",
            va="center", color="0.4", bbox={"facecolor": "white", "edgecolor": "none"})
    ax.set_yticks([])
    finite = epochs[np.isfinite(epochs)]
    if finite.size:
        ax.set_xlim(finite.min() - 1, finite.max() + 1)


def _finish(ax: Axes, drawn: bool, epochs: np.ndarray) -> None:
    if not drawn:
        _nothing_drawn(ax, epochs)
    ax.legend(loc="best", fontsize="small", framealpha=0.85)


def curve_figure(history: RunHistory, metric: str) -> Figure:
    """`train/<metric>` and `val/<metric>` against epoch, with the best epoch marked."""
    cols = [c for c in (f"train/{metric}", f"val/{metric}") if c in history.columns]
    if not cols:
        raise DataError(f"{history.name}: metrics.csv has no train/{metric} or val/{metric} "
                        "column")
    fig = _new_figure(7, 4.5)
    ax = fig.add_subplot()
    drawn = False
    for col in cols:
        drawn = _line(ax, history.epochs, history.columns[col], col.split("/")[0]) or drawn
    _mark_best(ax, history)
    ax.set_title(f"{_short(history.name, 60)}: {metric}")
    ax.set_ylabel(metric)
    _epoch_axis(ax, history.epochs)
    _finish(ax, drawn, history.epochs)
    return fig


def lr_figure(history: RunHistory) -> Figure:
    """The learning rate each epoch trained with (a log scale when it spans decades)."""
    if "lr" not in history.columns:
        raise DataError(f"{history.name}: metrics.csv has no lr column")
    fig = _new_figure(7, 4.5)
    ax = fig.add_subplot()
    lr = history.columns["lr"]
    drawn = _line(ax, history.epochs, lr, "learning rate", color="tab:green")
    finite = lr[np.isfinite(lr)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 20:
        ax.set_yscale("log")
    _mark_best(ax, history)
    ax.set_title(f"{_short(history.name, 60)}: learning rate")
    ax.set_ylabel("learning rate")
    _epoch_axis(ax, history.epochs)
    _finish(ax, drawn, history.epochs)
    return fig


def run_figures(history: RunHistory) -> dict[str, Figure]:
    """The run's pictures by file name: loss.png, one per metric, lr.png."""
    figures = {f"{m}.png": curve_figure(history, m) for m in history.metrics}
    if "lr" in history.columns:
        figures["lr.png"] = lr_figure(history)
    return figures


def write_run_plots(run_dir: str | Path) -> list[Path]:
    """Draw the run in `run_dir` into `run_dir/plots/` (see the module docstring); the paths
    written. A symbolic link at plots/ or at one of its files is refused (RunFolderError)."""
    from .runs import RunPaths

    root = Path(run_dir)
    history = read_run(root)
    folder = RunPaths(root).plots
    figures = run_figures(history)
    for p in (folder, *(folder / name for name in figures)):
        if os.path.islink(p):  # never written through: its target may be anyone's files
            raise link_error(p)
    return [save_figure(fig, folder / name) for name, fig in figures.items()]


def _unique_names(histories: Sequence[RunHistory], roots: Sequence[Path]) -> list[str]:
    """Legend names: the run names, or their paths where two runs share a name."""
    names = [h.name for h in histories]
    return [str(r) if names.count(n) > 1 else n for n, r in zip(names, roots)]


def overlay_figure(histories: Sequence[RunHistory], column: str,
                   labels: Sequence[str] | None = None) -> Figure:
    """`column` (e.g. val/accuracy) of several runs on one set of axes, one line per run."""
    labels = list(labels) if labels is not None else [h.name for h in histories]
    many = len(histories) > 6
    fig = _new_figure(9 if many else 7, 4.5)
    ax = fig.add_subplot()
    drawn = False
    epochs = np.concatenate([h.epochs for h in histories]) if histories else np.array([])
    markers = len(np.unique(epochs)) <= _MARKERS_UP_TO  # the same for every line
    for i, (h, label) in enumerate(zip(histories, _short_names(labels, 40))):
        # past the 10 colours of the cycle, lines differ by their dashes too
        style = ("-", "--", ":", "-.")[i // 10 % 4]
        drawn = _line(ax, h.epochs, h.columns[column], label, markers,
                      linestyle=style) or drawn
    ax.set_title(f"{column} by epoch, {len(histories)} run{'s' if len(histories) > 1 else ''}")
    ax.set_ylabel(column)
    _epoch_axis(ax, epochs)
    if not drawn:
        _nothing_drawn(ax, epochs)
    if many:  # a legend of many runs goes beside the axes, not over the lines
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", title="run")
    else:
        ax.legend(loc="best", fontsize="small", framealpha=0.85, title="run")
    return fig


def write_overlay(runs: Sequence[str | Path], metric: str | None = None,
                  output: str | Path | None = None) -> tuple[Path, str]:
    """Draw `metric` (a metrics.csv column; default val/loss, or train/loss when a run has no
    validation) of `runs` on one picture at `output` (default
    `<first run's parent>/compare/<metric>.png`). Returns the path and the column drawn."""
    from .loader import did_you_mean

    if not runs:
        raise UsageError("plot needs at least one run folder")
    if output is not None and Path(output).suffix.lower() not in FORMATS:
        raise UsageError(f"--output {output}: unsupported extension {Path(output).suffix!r} "
                         f"(use {', '.join(FORMATS)})")
    roots = [Path(r) for r in runs]
    histories = [read_run(r) for r in roots]
    if metric is None:
        metric = "val/loss" if all("val/loss" in h.columns for h in histories) else "train/loss"
    for h, r in zip(histories, roots):
        if metric not in h.columns:
            known = [c for c in h.columns if c != "epoch"]
            raise UsageError(f"--metric {metric}: {r} has no such column"
                             f"{did_you_mean(metric, known)} (its columns: {', '.join(known)})")
    if output is None:
        output = roots[0].parent / "compare" / (metric.replace("/", "_") + ".png")
    out = Path(output)
    fig = overlay_figure(histories, metric, _unique_names(histories, roots))
    return save_figure(fig, out), metric


def _run_folder(arg: str | Path) -> Path:
    """A RUN argument: a run folder, a file inside one (a checkpoint), or a run name under
    runs/."""
    from .runs import run_dir_of

    p = Path(arg)
    if p.is_file():
        return run_dir_of(p) if p.parent.name == "weights" else p.parent
    if not p.exists() and (Path("runs") / p).is_dir():
        return Path("runs") / p
    return p


def plot_runs(runs: Sequence[str | Path], metric: str | None = None,
              output: str | Path | None = None) -> dict[str, Any]:
    """`torchlite plot`: one run alone is drawn again into its plots/ (`write_run_plots`);
    several runs, or a `metric` or `output`, are overlaid (`write_overlay`). Returns the files
    written and the column overlaid (None for a run's own plots)."""
    roots = [_run_folder(r) for r in runs]
    if len(roots) == 1 and metric is None and output is None:
        return {"files": [str(p) for p in write_run_plots(roots[0])], "metric": None}
    path, column = write_overlay(roots, metric, output)
    return {"files": [str(path)], "metric": column}


# -- evaluation -----------------------------------------------------------------------------------
def confusion_figure(cm: Sequence[Sequence[int]] | np.ndarray,
                     class_names: Sequence[str] | None = None, title: str = "confusion matrix"
                     ) -> Figure:
    """A heatmap of a confusion matrix (rows: true class, columns: predicted), with the class
    names on the axes and the counts in the cells where they are readable."""
    m = np.asarray(cm, dtype=np.int64)
    n = max(len(m), 1)
    names = _short_names(class_names or [str(i) for i in range(len(m))])
    named = n <= _NAMED_TICKS_UP_TO
    longest = max((len(s) for s in names), default=1) if named else 3
    side = min(max(4.5, 0.45 * n + 1.5), 12.0)  # the matrix's own square, in inches
    cell_pt = side * 72 / n
    label_pt = 6.0 * longest + 12  # a tick label's width at 10 pt, roughly, and its gap
    rotate = named and label_pt > cell_pt * 0.9  # names wider than a column lean at 45 degrees
    room = label_pt / 72  # space taken by the y names (and the leaning x names)
    fig = _new_figure(side + room + 1.6, side + (room * 0.75 if rotate else 0.5) + 0.9)
    from matplotlib.ticker import MaxNLocator  # (after _new_figure: it says what to install)

    ax = fig.add_subplot()
    image = ax.imshow(m, cmap="Blues", interpolation="nearest", aspect="equal")
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("samples")
    if named:
        ticks = np.arange(len(m))
        ax.set_xticks(ticks, names, rotation=45 if rotate else 0,
                      ha="right" if rotate else "center", rotation_mode="anchor")
        ax.set_yticks(ticks, names)
    else:  # too many names to print them all: class indices, thinned by matplotlib
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    digits = max(len(str(int(m.max()))) if m.size else 1, 2)
    size = min(11.0, 0.8 * cell_pt / (0.62 * digits), 0.6 * cell_pt)
    if size >= _MIN_COUNT_PT:  # else the counts would be specks: the colours tell them
        high = m.max() / 2 if m.size else 0
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=size,
                    color="white" if v > high else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return fig


def scatter_figure(predicted: np.ndarray, true: np.ndarray,
                   title: str = "predicted vs true") -> Figure:
    """Predicted against true values (one colour per target), with the y = x line."""
    pred = np.asarray(predicted, dtype=np.float64).reshape(len(predicted), -1)
    tgt = np.asarray(true, dtype=np.float64).reshape(pred.shape)
    fig = _new_figure(6.5, 6)
    ax = fig.add_subplot()
    ok = np.isfinite(pred) & np.isfinite(tgt)
    k = pred.shape[1]
    alpha = float(np.clip(400.0 / max(int(ok.sum()), 1), 0.15, 0.8))
    for j in range(k):
        label = f"target {j}" if k > 1 else "samples"
        bad = int((~ok[:, j]).sum())
        if bad:
            label += f" ({bad} non-finite, not drawn)"
        ax.scatter(tgt[ok[:, j], j], pred[ok[:, j], j], s=10, alpha=alpha, label=label,
                   rasterized=True, edgecolors="none")
    values = np.concatenate([tgt[ok], pred[ok]])
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        pad = (hi - lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
        ax.plot([lo, hi], [lo, hi], color="0.3", linestyle="--", linewidth=1, label="y = x")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    else:
        ax.text(0.5, 0.5, "no finite values to draw", transform=ax.transAxes, ha="center",
                va="center", color="0.4")
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("true value")
    ax.set_ylabel("predicted value")
    ax.set_title(title)
    legend = ax.legend(loc="upper left", fontsize="small", framealpha=0.85)
    # the points are faint where they are many; their legend keys need not be
    for handle in legend.legend_handles:
        if handle is not None:
            handle.set_alpha(1.0)
    return fig


EVAL_PLOTS = {"classification": "confusion_matrix.png", "regression": "predicted_vs_true.png"}


def eval_figure(report: dict, outputs: np.ndarray | None = None,
                targets: np.ndarray | None = None) -> Figure:
    """The picture of an evaluation report (`evaluate_checkpoint`'s dict): its confusion
    matrix, or (regression) `outputs` against `targets`."""
    where = f"{report.get('split', '?')} split, {report.get('samples', '?')} samples"
    if report.get("task") == "classification":
        names = [str(row["class"]) for row in report.get("per_class") or []] or None
        acc = report.get("accuracy")
        score = f", accuracy {acc:.2%}" if isinstance(acc, (int, float)) else ""
        return confusion_figure(report["confusion_matrix"], names,
                                f"confusion matrix ({where}{score})")
    if outputs is None or targets is None:
        raise ValueError("a regression report's picture needs the outputs and targets")
    r2 = report.get("r2")
    score = f", R\u00b2 {r2:.3f}" if isinstance(r2, (int, float)) else ""
    return scatter_figure(outputs, targets, f"predicted vs true ({where}{score})")


def write_eval_plot(out_dir: str | Path, report: dict, outputs: np.ndarray | None = None,
                    targets: np.ndarray | None = None) -> Path:
    """Save `eval_figure` in `out_dir` (a run's eval/) as confusion_matrix.png or
    predicted_vs_true.png; a symbolic link there is refused (RunFolderError)."""
    out_dir = Path(out_dir)
    path = out_dir / EVAL_PLOTS[report.get("task", "regression")]
    fig = eval_figure(report, outputs, targets)
    for p in (out_dir, path):
        if os.path.islink(p):
            raise link_error(p)
    return save_figure(fig, path)
