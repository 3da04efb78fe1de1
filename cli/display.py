"""All printing of the CLI: rich progress and tables on a terminal, plain lines elsewhere.

Progress goes to stderr; results (tables, JSON) go to stdout. With stderr not a terminal (CI,
pipes) or NO_COLOR set, training prints one plain line per epoch instead of a progress bar.
"""

from __future__ import annotations

import json
import os
import sys


def _console(stderr: bool = False):
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    # markup off: class names, paths and config names come from files, and "[/bold]" in one
    # must print as text, not crash the table or restyle it
    return Console(stderr=stderr, no_color=no_color, highlight=False, markup=False,
                   soft_wrap=True)


def error(message: str) -> None:
    for line in str(message).splitlines() or [""]:
        sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()


def warning(message: str) -> None:
    """One line per warning: the message only, not Python's file:line and source line."""
    info(f"warning: {' '.join(str(message).split())}")


def info(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def print_json(obj) -> None:
    """Strict JSON: NaN and infinities become null (bare NaN is not JSON; parsers reject it)."""
    from torchlite.training.runs import json_safe

    sys.stdout.write(json.dumps(json_safe(obj), indent=2, default=_default, allow_nan=False)
                     + "\n")


def _default(o):
    from torchlite.training.runs import json_safe

    try:
        return json_safe(float(o))
    except (TypeError, ValueError):
        return str(o)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"
    return str(v)


class TrainDisplay:
    """Renders trainer events: a rich progress bar on a terminal, plain lines otherwise."""

    def __init__(self, plain: bool | None = None) -> None:
        tty = sys.stderr.isatty()
        self.plain = plain if plain is not None else (not tty or bool(os.environ.get("CI")))
        self.progress = None
        self.task = None
        self.run_dir: str | None = None
        self.plots: dict | None = None
        self.test: dict | None = None
        self.console = _console(stderr=True)

    def __call__(self, event: str, **info) -> None:
        getattr(self, "on_" + event, lambda **_: None)(**info)

    def on_start(self, run_dir, device, parameters, seed, epochs, start_epoch, resumed,
                 **_) -> None:
        self.run_dir = run_dir  # for the message if training is interrupted
        what = "resuming" if resumed else "training"
        info(f"torchlite: {what} in {run_dir} | device {device} | {parameters:,} parameters | "
             f"seed {seed} | epochs {start_epoch + 1}..{epochs}")
        if not self.plain:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                                     MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
                                     TimeElapsedColumn(), console=self.console, transient=True)
            self.progress.start()

    def on_distributed(self, world_size, batch_size_per_rank, global_batch_size, backend,
                       **_) -> None:
        info(f"torchlite: {world_size} ranks ({backend}) | batch {batch_size_per_rank} per rank, "
             f"global batch {global_batch_size}")

    def on_epoch_start(self, epoch, batches, **_) -> None:
        if self.progress is not None:
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.task = self.progress.add_task("train", total=batches, epoch=epoch, stats="")

    def on_step(self, batch, loss, lr, samples_per_s, **_) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=batch,
                                 stats=f"loss {loss:.4f} lr {lr:.3g} {samples_per_s:,.0f} "
                                       "samples/s")

    def on_epoch_end(self, epoch, **row) -> None:
        keys = [k for k in row if "/" in k]
        text = f"epoch {epoch}: " + "  ".join(f"{k} {_fmt(row[k])}" for k in keys)
        text += f"  lr {row.get('lr', 0):.3g}  {row.get('time_s', 0):.2f}s"
        if self.progress is not None:
            self.progress.console.print(text)
        else:
            info(text)

    def on_test(self, metrics, samples, **_) -> None:
        self.test = {"metrics": metrics, "samples": samples}  # shown with the end of the run

    def on_plots(self, files, skipped=None, **_) -> None:
        self.plots = {"files": files, "skipped": skipped}  # shown with the end of the run

    def on_end(self, status, stop_reason, run_dir, best, best_epoch, best_value, monitor,
               wall_time_s, final_weights=None, **_) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        best_txt = f"best {monitor} {best_value:.4f} at epoch {best_epoch}" \
            if best_value is not None else "no best checkpoint"
        info(f"torchlite: {status} ({stop_reason}) in {wall_time_s:.1f}s; {best_txt}")
        if self.test:
            info(f"  test ({self.test['samples']} samples): " + "  ".join(
                f"{k.removeprefix('test/')} {_fmt(v)}" for k, v in self.test["metrics"].items()))
        info(f"  run folder: {run_dir}")
        if self.plots and self.plots["skipped"]:
            info(f"  {self.plots['skipped']}")
        elif self.plots and self.plots["files"]:
            info(f"  plots:      {os.path.dirname(self.plots['files'][0])}/ ("
                 f"{', '.join(os.path.basename(f) for f in self.plots['files'])})")
        if status == "interrupted":
            info(f"  resume:     torchlite train --resume {run_dir}")
        elif final_weights or best:
            info(f"  evaluate:   torchlite eval {final_weights or best}")


def report(rep: dict) -> None:
    """Print an evaluation report as tables."""
    from rich.table import Table

    con = _console()
    head = Table(title=f"{rep['checkpoint']} on the {rep['split']} split "
                       f"({rep['samples']} samples)")
    head.add_column("metric")
    head.add_column("value", justify="right")
    keys = ["loss", "accuracy", "precision_macro", "recall_macro", "f1_macro",
            "precision_weighted", "recall_weighted", "f1_weighted", "mse", "rmse", "mae", "r2"]
    keys += sorted(k for k in rep if k.startswith("top") and k.endswith("_accuracy"))
    for k in keys:
        if k in rep and rep[k] is not None:
            head.add_row(k, _fmt(rep[k]))
    con.print(head)
    per = rep.get("per_class")
    if per:
        t = Table(title="per class")
        for c in ("class", "precision", "recall", "f1", "support"):
            t.add_column(c, justify="right")
        for row in per:
            t.add_row(str(row["class"]), _fmt(row["precision"]), _fmt(row["recall"]),
                      _fmt(row["f1"]), str(row["support"]))
        con.print(t)
    cm = rep.get("confusion_matrix")
    if cm:
        names = rep.get("class_names") or [str(i) for i in range(len(cm))]
        t = Table(title="confusion matrix (rows: true, columns: predicted)")
        t.add_column("")
        for n in names:
            t.add_column(str(n), justify="right")
        for n, row in zip(names, cm):
            t.add_row(str(n), *[str(v) for v in row])
        con.print(t)
    if rep.get("report_error"):  # the metrics above stand; only saving them failed
        info(f"warning: the report was not saved: {rep['report_error']}")
        return
    files = ["report.json"] + (["confusion_matrix.csv"] if cm else [])
    if rep.get("plot"):
        files.append(os.path.basename(rep["plot"]))
    con.print(f"wrote {rep['report_dir']}/{', '.join(files[:-1])}"
              f"{' and ' if len(files) > 1 else ''}{files[-1]}")


def eval_plot_skipped(rep: dict) -> None:
    """One line on stderr when `eval` drew no picture although asked to, saying why."""
    if rep.get("plot_error"):
        info(rep["plot_error"])


def plots_written(result: dict) -> None:
    """What `torchlite plot` wrote."""
    what = f" ({result['metric']})" if result.get("metric") else ""
    for f in result["files"]:
        sys.stdout.write(f"wrote {f}{what}\n")


def predictions_json(result: dict, written) -> dict:
    """`infer --json`: every prediction (class and confidence, or values) and the file."""
    out = {"checkpoint": result["checkpoint"], "task": result["task"], "n": result["n"],
           "file": str(written)}
    if result["task"] == "classification":
        names = result.get("classes")
        out["predictions"] = [
            {"index": i, "class": names[int(c)] if names else int(c), "confidence": float(p)}
            for i, (c, p) in enumerate(zip(result["pred"], result["confidence"]))]
    else:
        out["predictions"] = [{"index": i, "value": [float(v) for v in row]}
                              for i, row in enumerate(result["output"])]
    return out


def predictions(result: dict, limit: int = 10, written=None) -> None:
    """The first `limit` predictions as a table on stdout; says on stderr when rows are left
    out, and where they all are."""
    from rich.table import Table

    t = Table(title=f"predictions ({result['n']} inputs; {result['checkpoint']})")
    t.add_column("index", justify="right")
    if result["task"] == "classification":
        t.add_column("class", justify="right")
        t.add_column("confidence", justify="right")
        names = result.get("classes")
        for i in range(min(limit, result["n"])):
            c = int(result["pred"][i])
            t.add_row(str(i), names[c] if names else str(c), f"{result['confidence'][i]:.4f}")
    else:
        t.add_column("value", justify="right")
        for i in range(min(limit, result["n"])):
            t.add_row(str(i), ", ".join(f"{v:.4g}" for v in result["output"][i]))
    _console().print(t)
    if result["n"] > limit:
        where = f"; all in {written}" if written else ""
        info(f"first {limit} of {result['n']} rows{where}")


def summary_table(s: dict) -> None:
    from rich.table import Table

    t = Table(title=f"{s['name']}: input {s['input_shape']}")
    for c in ("layer", "type", "output shape", "parameters"):
        t.add_column(c, justify="right" if c == "parameters" else "left")
    for r in s["layers"]:
        t.add_row(r["name"], r["type"], str(r["output_shape"]), f"{r['parameters']:,}")
    con = _console()
    con.print(t)
    con.print(f"total parameters: {s['total_parameters']:,} (trainable "
              f"{s['trainable_parameters']:,}), size {s['size_bytes'] / 1024:.1f} KiB")


def graph_drawn(r: dict) -> None:
    """The DOT text on stdout (--output -), or where the picture went and what it holds."""
    if r.get("source") is not None:
        sys.stdout.write(r["source"])
        return
    info(f"wrote {r['output']}: {r['backward_nodes']} backward nodes, {r['parameters']} "
         f"parameters (batch {r['input_shape']}, loss {r['loss']:.4f})")


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 \
        else f"{v:.3f}"


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _rate(v: float) -> str:
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k" if v >= 1e3 else f"{v:.0f}"


def bench_progress(done: int, total: int, row) -> None:
    """One line on stderr per finished `torchlite bench` row."""
    times = ", ".join(f"{fw} {_ms(t.median_ms)} ms" for fw, t in row.times.items())
    info(f"[{done}/{total}] {row.suite}/{row.name}: {times}")


def bench_table(rep: dict) -> None:
    """Print `torchlite bench` results: median ms per step and torchlite's time ratios."""
    from rich import box
    from rich.table import Table

    m = rep["machine"]
    torch = f"PyTorch {m['torch']}" if m.get("torch") else "no PyTorch"
    threads = m["threads"] or "default"
    if m.get("threads_requested") and m["threads_requested"] != m["threads"]:
        threads = f"{threads} ({m['threads_requested']} requested)"
    t = Table(title=f"median ms per step: {m.get('cpu') or 'unknown CPU'}, {m['cpu_count']} CPUs, "
                    f"threads {threads}, device {m['device']}; Python {m['python']}, NumPy "
                    f"{m['numpy']}, {torch}", box=box.SIMPLE_HEAD, padding=(0, 1),
              pad_edge=False, title_justify="left")
    profiled = bool(m.get("profile"))  # --profile: torchlite again, with the profiler recording
    for c in ("suite/row", "torchlite ms", "floor ms", "torch ms", "tl/floor", "tl/torch", "spread",
              "n") + (("profiled ms", "prof/tl") if profiled else ()):
        t.add_column(c, justify="left" if c == "suite/row" else "right", no_wrap=True)
    rates = []
    for r in rep["rows"]:
        times, ratio = r["times"], r["ratios"]
        tl = times.get("torchlite")
        spread = None
        if tl and tl["median_ms"] > 0:
            spread = 50 * (tl["p75_ms"] - tl["p25_ms"]) / tl["median_ms"]
        t.add_row(f"{r['suite']}/{r['name']}",
                  *(_ms(times[fw]["median_ms"]) if fw in times else "-"
                    for fw in ("torchlite", "floor", "torch")),
                  _ratio(ratio.get("torchlite/floor")), _ratio(ratio.get("torchlite/torch")),
                  "-" if spread is None else f"±{spread:.0f}%",
                  str(tl["n"]) if tl else "-",
                  *((_ms(times["profiled"]["median_ms"]) if "profiled" in times else "-",
                     _ratio(ratio.get("profiled/torchlite"))) if profiled else ()))
        per_s = {fw: v["samples_per_s"] for fw, v in times.items() if "samples_per_s" in v}
        if per_s:
            rates.append(f"{r['suite']}/{r['name']}: samples/s " + ", ".join(
                f"{fw} {_rate(v)}" for fw, v in per_s.items()))
    con = _console()
    if not con.is_terminal:  # rich's default of 80 columns for pipes would cut columns short
        con.width = max(con.width, 126 if profiled else 100)
    con.print(t)
    floor = "CuPy" if m["device"] == "cuda" else "NumPy"
    con.print(f"tl/floor, tl/torch: torchlite's median time over the floor's and PyTorch's (below "
              f"1: torchlite is faster). floor: the same math in hand-written {floor}.")
    con.print("spread: half the interquartile range of torchlite's times, as % of its median. "
              "n: timed steps per framework.")
    if profiled:
        con.print("profiled: torchlite with torchlite.profiler recording every step; prof/tl: "
                  "its time over torchlite's (the torchlite column: profiler off).")
    for line in rates:
        con.print(line)
    status = m.get("torch_status")
    if status == "disabled":
        con.print("PyTorch: left out (--no-torch)")
    elif status not in (None, "used"):
        con.print(f"PyTorch: {status}")


def _cell(v, config: bool = False) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}" if config else _fmt(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _duration(s) -> str:
    if s is None:
        return "-"
    return f"{s:.1f}s" if s < 120 else f"{s / 60:.1f}min"


def runs_table(runs: list[dict], root) -> None:
    """`torchlite runs`: one row per run."""
    from rich.table import Table

    if not runs:
        info(f"no runs under {root}/")
        return
    t = Table(title=f"runs under {root}/")
    for c in ("name", "status", "best", "epoch", "test", "duration", "created"):
        t.add_column(c, justify="right" if c in ("epoch", "duration") else "left")
    for r in runs:
        best = f"{r['monitor']} {_fmt(r['best_value'])}" if r["best_value"] is not None else "-"
        test = "  ".join(f"{k.removeprefix('test/')} {_fmt(v)}"
                         for k, v in r["test_metrics"].items()) or "-"
        epoch = f"{r['best_epoch']}/{r['epochs']}" if r["best_epoch"] is not None else \
            _cell(r["epochs"])
        status = r["status"] if r["status"] != "completed" or r["stop_reason"] != \
            "early_stopping" else "completed (early stop)"
        t.add_row(r["name"], status, best, epoch, test, _duration(r["duration_s"]),
                  (r["created"] or "-").replace("T", " "))
    con = _console()
    if not con.is_terminal:  # rich's 80 columns would wrap the test metrics into many lines
        con.width = max(con.width, 160)
    con.print(t)


def compare_table(result: dict) -> None:
    """`torchlite compare`: config differences, then metrics, a column per run."""
    from rich.table import Table

    con = _console()
    if not con.is_terminal:
        con.width = max(con.width, 40 + 24 * len(result["runs"]))
    t = Table(title="config differences")
    t.add_column("key")
    for name in result["runs"]:
        t.add_column(name)
    for d in result["config_differences"]:
        t.add_row(d["key"], *(_cell(v, config=True) for v in d["values"]))
    if result["config_differences"]:
        con.print(t)
    else:
        con.print("config differences: none (same config)")
    m = Table(title="metrics")
    m.add_column("metric")
    for name in result["runs"]:
        m.add_column(name, justify="right")
    for row in result["metrics"]:
        values = row["values"]
        if row["metric"] == "duration_s":
            m.add_row("duration", *(_duration(v) for v in values))
        else:
            m.add_row(row["metric"], *(_cell(v) for v in values))
    con.print(m)
    if result.get("plot"):
        con.print(f"wrote {result['plot']}")


def lr_find_result(r: dict) -> None:
    """`torchlite lr-find`: the suggestion on stdout, where the plot and config went."""
    sys.stdout.write(f"suggested lr: {r['suggested_lr']:.3g}\n" if r["suggested_lr"] else
                     "suggested lr: none (too few steps before the loss diverged)\n")
    low = f"{r['min_loss_lr']:.3g}" if r["min_loss_lr"] else "-"
    info(f"{r['steps']} steps from lr {r['start_lr']:.3g} to {r['lrs'][-1]:.3g}"
         f"{' (stopped: the loss diverged)' if r['diverged'] else ''}; lowest smoothed loss at "
         f"lr {low}; the config has {r['lr_in_config']}")
    if r.get("plot"):
        info(f"wrote {r['plot']}")
    elif r.get("plot_error"):
        info(r["plot_error"])
    if r.get("applied_config"):
        info(f"wrote {r['applied_config']} (optimizer.lr {r['suggested_lr']:.3g})")


def export_result(r: dict) -> None:
    """`torchlite export`: where the file went and how closely ONNX Runtime matched."""
    diffs = ", ".join(f"batch {n}: {d:.3g}" for n, d in r["max_abs_diff_by_batch"].items())
    print(f"wrote {r['output']} ({r['format']}, opset {r['opset']}, {r['nodes']} nodes, "
          f"{r['bytes']:,} bytes{', dynamic batch' if r['dynamic_batch'] else ''}"
          f"{', with preprocessing' if r['include_preprocessing'] else ''})")
    print(f"checked in ONNX Runtime on {r['inputs']}: largest difference from torchlite "
          f"{r['max_abs_diff']:.3g} ({diffs})")


def qat_epoch(epoch: int, epochs: int, loss: float) -> None:
    """One line per epoch of `torchlite quantize --mode qat`'s fine-tuning."""
    info(f"qat fine-tuning epoch {epoch}/{epochs}: train loss {loss:.4f}")


def quantize_result(rep: dict) -> None:
    """`torchlite quantize`: file size and test accuracy, float32 beside int8."""
    from rich.table import Table

    t = Table(title=f"{rep['mode']} int8 quantization of {rep['checkpoint']}")
    t.add_column("")
    t.add_column("float32", justify="right")
    t.add_column("int8", justify="right")
    before, after = rep["size_before"], rep["size_after"]
    t.add_row("file size", f"{before / 1024:,.1f} KiB",
              f"{after / 1024:,.1f} KiB ({before / max(after, 1):.2f}x smaller)")
    if "accuracy_before" in rep:
        a, b = rep["accuracy_before"], rep["accuracy_after"]
        t.add_row(f"{rep['split']} accuracy", f"{a:.4f}", f"{b:.4f} ({(b - a) * 100:+.2f} pts)")
    _console().print(t)
    if rep["mode"] == "qat":
        info(f"fine-tuned {rep['epochs']} epochs with fake quantization at lr {rep['lr']:.3g}")
    info(f"wrote {rep['output']}")
