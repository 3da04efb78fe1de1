"""The torchlite CLI: each command declares its options and calls one library function.

Heavy imports (numpy, the library) happen inside the commands, so `torchlite --help` stays fast.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import typer
from typer.core import TyperGroup

from . import ctrl_c_ends, ctrl_c_raises, display, distributed, keep_exit_code
from .errors import INTERRUPTED, classify


class _Group(TyperGroup):
    """The app's command group: `--debug` is accepted after the subcommand too (moved in front
    before parsing, up to a `--`), a Ctrl-C before a command's own handling exits 130 without a
    traceback, and a closed stdout (`torchlite runs | head`) ends the command quietly."""

    def parse_args(self, ctx, args):
        cut = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:cut]:
            args = ["--debug", *(a for a in args[:cut] if a != "--debug"), *args[cut:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        # Ctrl-C exits at once until the command calls the library (_run, see __init__); from
        # there it is a KeyboardInterrupt, caught below if the command did not; after the
        # command, it only sets the exit status
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe shows here, not in Python's exit
            return result
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1
            display.error("interrupted")
            raise typer.Exit(keep_exit_code(INTERRUPTED)) from None
        except typer.Exit as done:  # every command's interrupted end passes here: keep its 130
            if done.exit_code == INTERRUPTED:
                keep_exit_code(INTERRUPTED)
            raise
        except BrokenPipeError:
            import os

            # Python's advice: point stdout at devnull so the flush at exit does not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        finally:
            ctrl_c_ends()


app = typer.Typer(
    cls=_Group,
    help="Train, evaluate and run torchlite models described by YAML configs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help text: rendering help with rich costs ~0.1 s per call
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Config file helpers.", no_args_is_help=True,
                         rich_markup_mode=None)
app.add_typer(config_app, name="config")

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"torchlite {version('torchlite')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    _state["debug"] = debug
    if not debug:  # a library warning is one clear line, like an error (--debug: Python's own)
        warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    display.warning(str(message))


def _run(fn, *args, **kwargs):
    """Call a library function; turn its exceptions into a message and an exit code."""
    from torchlite.errors import TrainingInterrupted
    from torchlite.training import interrupts

    ctrl_c_raises()  # the library may write from here: Ctrl-C must let it clean up
    # a recorded Ctrl-C that did not end the call (see torchlite.training.interrupts) ends the
    # command as interrupted; not in a job of several ranks, where a rank that ends on its own
    # aborts the job (their interrupts are agreed, and the trainer takes the record)
    try:
        result = fn(*args, **kwargs)
        # Python dropped it in a finalizer
        if interrupts.received() and not distributed.several_ranks():
            raise KeyboardInterrupt
        return result
    except typer.Exit:
        raise
    except BaseException as exc:  # every failure becomes a message and an exit code
        if isinstance(exc, SystemExit):
            raise
        if (interrupts.take() and not isinstance(exc, (KeyboardInterrupt, TrainingInterrupted))
                and not distributed.several_ranks()):
            # some code turned the Ctrl-C into another error on its way out (Python 3.11
            # wraps one raised in a class's __set_name__ in a RuntimeError)
            exc = KeyboardInterrupt()
        # a training command's display knows the run folder; TrainingInterrupted does not
        code, message = classify(exc, run_dir=getattr(kwargs.get("callback"), "run_dir", None))
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        if not distributed.quiet_error(exc):  # a rank other than 0 leaves shared errors to 0
            display.error(distributed.error_prefix() + message)
        distributed.end_job_if_alone(exc, code)  # its peers would wait for it in a collective
        raise typer.Exit(code) from None


_THREADS_HELP = ("CPU threads for BLAS and torchlite's loops (default: $OMP_NUM_THREADS and the "
                 "like when set, else 1 for small models and batches, all CPUs for large ones).")
_PRECISION_HELP = ("32 | 64 | 16-mixed | bf16-mixed | 16-true | bf16-true (default: the "
                   "checkpoint's trainer.precision).")


@app.command()
def train(
    config: str | None = typer.Argument(
        None, help="YAML config file (see configs/); left out with --resume."),
    overrides: list[str] | None = typer.Argument(
        None, help="Overrides like optimizer.lr=0.01 trainer.epochs=3 (values parsed as YAML)."),
    name: str | None = typer.Option(None, help="Run name (default: the config's name)."),
    exist_ok: bool = typer.Option(
        False, "--exist-ok", help="Reuse runs/<name> if it exists, deleting the files of the run "
        "before (config, metrics, logs, weights, eval/); other files stay."),
    resume: Path | None = typer.Option(
        None, help="Continue the run in RUN_DIR (or the run of a checkpoint)."),
    device: str | None = typer.Option(None, help="auto | cpu | cuda | cuda:N"),
    seed: int | None = typer.Option(None, help="Random seed."),
    epochs: int | None = typer.Option(None, help="Number of epochs."),
    plain: bool = typer.Option(False, "--plain", help="One plain line per epoch, no bar."),
    no_plots: bool = typer.Option(False, "--no-plots", help="Do not draw plots/ at the end."),
    threads: int | None = typer.Option(None, min=1, help=_THREADS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the final summary as JSON on "
                                 "stdout (progress stays on stderr)."),
    nproc: int | None = typer.Option(None, "--nproc", min=1, help=distributed.NPROC_HELP),
) -> None:
    """Train a model: writes runs/<name>/ (config, metrics.csv, train.log, weights/, plots/)
    and, when the data has a test split, evaluates the final weights on it."""
    from torchlite.training import api

    distributed.relaunch(nproc)  # --nproc N: this command again as N ranks, through mpirun
    overrides = list(overrides or [])
    view = display.TrainDisplay(plain=True if plain else None)
    if resume is not None:
        if config is not None and "=" not in config:
            _usage("--resume continues a run with the config saved in its folder: pass overrides "
                   f"(like trainer.epochs=20), not a config file ({config})")
        if config is not None:  # the first override lands in CONFIG's slot
            overrides.insert(0, config)
        if name is not None or seed is not None or exist_ok:
            _usage("--name, --seed and --exist-ok do not apply to --resume (the run keeps them)")
        result = _run(api.resume, resume, overrides, device=device, epochs=epochs,
                      callback=view, plots=not no_plots, threads=threads)
    else:
        if config is None:
            _usage("train needs a CONFIG file (or --resume RUN_DIR)")
        result = _run(api.train, Path(config), overrides, name=name, exist_ok=exist_ok,
                      device=device, seed=seed, epochs=epochs, callback=view,
                      plots=not no_plots, threads=threads)
    if as_json and not distributed.secondary_rank():
        display.print_json(result)


# A checkpoint names a custom model's class, never the code to run: the user names it.
_MODEL_CODE_HELP = ("The .py file (or package.module) defining a custom model's class, "
                    "optionally FILE.py:Class. A checkpoint alone never makes torchlite run code.")
_TRUST_HELP = "Import the custom model code that the checkpoint names (only for files you trust)."


def _usage(message: str) -> None:
    display.error(message)
    raise typer.Exit(2)


@app.command("eval")
def eval_(
    checkpoint: str | None = typer.Argument(
        None, help="Checkpoint file or run folder (default: the latest run)."),
    data: str | None = typer.Option(None, help="Evaluate on this data path instead."),
    split: str = typer.Option("test", help="test | val | train"),
    device: str | None = typer.Option(None, help="auto | cpu | cuda"),
    batch_size: int | None = typer.Option(None, min=1, help="Batch size."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON report."),
    model_code: str | None = typer.Option(None, help=_MODEL_CODE_HELP),
    trust_model_code: bool = typer.Option(False, "--trust-model-code", help=_TRUST_HELP),
    no_plots: bool = typer.Option(False, "--no-plots", help="Do not draw the confusion matrix "
                                  "or predicted-vs-true picture."),
    threads: int | None = typer.Option(None, min=1, help=_THREADS_HELP),
    precision: str | None = typer.Option(None, help=_PRECISION_HELP),
) -> None:
    """Evaluate a checkpoint: accuracy, P/R/F1, confusion matrix (or MSE/MAE/R2)."""
    from torchlite.training import api

    if split not in ("test", "val", "train"):
        display.error(f"--split must be test, val or train, got {split!r}")
        raise typer.Exit(2)
    rep = _run(api.evaluate_checkpoint, checkpoint, data_path=data, split=split, device=device,
               batch_size=batch_size, model_code=model_code, trust_model_code=trust_model_code,
               plots=not no_plots, threads=threads, precision=precision)
    if as_json:  # why no picture was drawn is the report's plot_error
        display.print_json(rep)
    else:
        display.report(rep)
        display.eval_plot_skipped(rep)


@app.command()
def plot(
    runs: list[str] = typer.Argument(..., help="Run folders (or run names under runs/)."),
    metric: str | None = typer.Option(
        None, help="A metrics.csv column to overlay, e.g. val/accuracy (default: val/loss, or "
        "train/loss for runs without validation)."),
    output: Path | None = typer.Option(
        None, help="Picture to write (.png, .svg, .pdf; default: compare/<metric>.png beside "
        "the first run)."),
) -> None:
    """Draw runs: one RUN alone redraws its plots/; several RUNs, --metric or --output
    overlay one column of every run (a line per run)."""
    from torchlite.training import plots

    display.plots_written(_run(plots.plot_runs, runs, metric=metric, output=output))


@app.command()
def infer(
    input: Path = typer.Argument(  # noqa: A002 - the option's name in --help
        ..., help="Inputs: .npy, .npz or .csv (raw, as the dataset)."),
    checkpoint: str | None = typer.Option(
        None, help="Checkpoint or run folder (default: best weights of the latest run)."),
    output: Path | None = typer.Option(
        None, help="Write predictions to .npy (logits/probs), .csv or .json."),
    batch_size: int = typer.Option(256, min=1, help="Batch size."),
    probs: bool = typer.Option(False, "--probs", help="Output probabilities, not logits."),
    key: str | None = typer.Option(None, help="Array name inside an .npz input."),
    device: str | None = typer.Option(None, help="auto | cpu | cuda"),
    model_code: str | None = typer.Option(None, help=_MODEL_CODE_HELP),
    trust_model_code: bool = typer.Option(False, "--trust-model-code", help=_TRUST_HELP),
    threads: int | None = typer.Option(None, min=1, help=_THREADS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print every prediction as JSON on "
                                 "stdout instead of the table."),
    limit: int = typer.Option(10, min=0, help="Rows of the table (all are in the file)."),
    precision: str | None = typer.Option(None, help=_PRECISION_HELP),
) -> None:
    """Predict with a trained model: a table on stdout (or --json), every prediction in a
    file."""
    from torchlite.training import api, outputs

    if output is not None and output.suffix.lower() not in outputs.SUFFIXES:
        _usage(f"--output {output}: unsupported extension {output.suffix!r} (use "
               f"{', '.join(outputs.SUFFIXES)})")
    x = _run(api.load_inputs, input, key)
    result = _run(api.predict, x, checkpoint, device=device, batch_size=batch_size, probs=probs,
                  model_code=model_code, trust_model_code=trust_model_code, threads=threads,
                  precision=precision)
    if checkpoint is None:
        display.info(f"using {result['checkpoint']}")
    written = _run(outputs.write_predictions, result, output, input)
    if as_json:
        display.print_json(display.predictions_json(result, written))
    else:
        display.predictions(result, limit=limit, written=written)
    display.info(f"wrote {written}")


@app.command()
def validate(
    config: Path = typer.Argument(..., help="YAML config file."),
    overrides: list[str] | None = typer.Argument(None, help="Overrides a.b=c."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check a config: build the model and run one batch forward, without training."""
    from torchlite.training import api

    r = _run(api.validate, config, overrides or [])
    if as_json:
        display.print_json({"config": str(config), **r})
        return
    typer.echo(f"{config}: OK - model input {r['input_shape']} -> output {r['output_shape']}, "
               f"{r['parameters']:,} parameters, loss on one batch {r['loss']:.4f}; "
               f"splits train {r['train']} / val {r['val']} / test {r['test']}")


@app.command()
def summary(
    target: str = typer.Argument(..., help="Config file or checkpoint/run folder."),
    model_code: str | None = typer.Option(None, help=_MODEL_CODE_HELP),
    trust_model_code: bool = typer.Option(False, "--trust-model-code", help=_TRUST_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the layers as JSON."),
) -> None:
    """Layer table: output shapes, parameter counts, total size."""
    from torchlite.training import api

    s = _run(api.summarize, target, model_code=model_code, trust_model_code=trust_model_code)
    if as_json:
        display.print_json(s)
    else:
        display.summary_table(s)


@app.command()
def graph(
    target: str = typer.Argument(..., help="Config file or checkpoint/run folder."),
    output: str | None = typer.Option(
        None, "--output", "-o",
        help="Write .svg, .png, .pdf (these need Graphviz's dot program) or .dot/.gv (DOT "
             "text); - prints the DOT text. Default: NAME_graph.svg."),
    batch_size: int | None = typer.Option(None, min=1, help="Batch size (default: the config's)."),
    device: str = typer.Option("cpu", help="cpu | cuda"),
    show_attrs: bool = typer.Option(False, "--show-attrs",
                                    help="List each node's saved attributes."),
    show_saved: bool = typer.Option(False, "--show-saved",
                                    help="Draw the tensors each node saved for backward."),
    model_code: str | None = typer.Option(None, help=_MODEL_CODE_HELP),
    trust_model_code: bool = typer.Option(False, "--trust-model-code", help=_TRUST_HELP),
) -> None:
    """Draw the autograd graph of one batch through the model and loss (needs torchlite[viz])."""
    from torchlite.training.graph import draw_graph

    display.graph_drawn(_run(draw_graph, target, output, batch_size=batch_size, device=device,
                             show_attrs=show_attrs, show_saved=show_saved,
                             model_code=model_code, trust_model_code=trust_model_code))


# torchlite.benchmark.SUITES, spelled out so that `torchlite --help` need not import the library
_BENCH_SUITES = ("mlp", "lenet5", "lstm", "optim", "data", "train", "startup", "precision",
                 "quant", "sparse", "distributed")


@app.command()
def bench(
    suite: list[str] | None = typer.Option(
        None, "--suite", help=" | ".join(_BENCH_SUITES) + "; repeat the option for several "
        "(default: all)."),
    device: str = typer.Option("cpu", help="cpu | cuda"),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON results."),
    repeat: int | None = typer.Option(
        None, min=1, help="Timed steps per framework and row, for every suite (default: each "
        "suite's own)."),
    threads: int | None = typer.Option(
        None, min=0, help="Threads for every framework (default: all CPUs; 0: each library's "
        "own default)."),
    no_torch: bool = typer.Option(False, "--no-torch", help="Leave PyTorch out."),
    profile: bool = typer.Option(
        False, "--profile", help="Also time torchlite with torchlite.profiler recording every "
        "step: the profiler's cost (prof/tl) beside the profiler-off times."),
    quick: bool = typer.Option(False, "--quick", hidden=True,
                               help="Tiny problem sizes: checks the harness, not speed."),
) -> None:
    """Time torchlite against the same math in hand-written NumPy (the floor) and in PyTorch
    (when it is installed), each in its own process, taking turns: median ms and ratios."""
    import difflib

    names = list(dict.fromkeys(suite or _BENCH_SUITES))
    for name in names:
        if name not in _BENCH_SUITES:
            close = difflib.get_close_matches(name, _BENCH_SUITES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            _usage(f"--suite {name!r} is not a suite{hint}; choose from "
                   f"{', '.join(_BENCH_SUITES)}")
    if device not in ("cpu", "cuda"):
        _usage(f"--device must be cpu or cuda, got {device!r}")
    from torchlite import benchmark

    def measure():
        try:
            return benchmark.run(names, device=device, repeat=repeat, threads=threads,
                                 use_torch=not no_torch, quick=quick,
                                 progress=display.bench_progress, profile=profile)
        except KeyboardInterrupt:  # the workers are stopped already; there is nothing to save
            display.error("interrupted")
            raise typer.Exit(INTERRUPTED) from None

    rep = _run(measure)
    if as_json:
        display.print_json(rep.to_dict())
    else:
        display.bench_table(rep.to_dict())


from . import lr_find_command, run_commands  # noqa: E402 - their commands use _run above

app.command("runs")(run_commands.runs)
app.command("compare")(run_commands.compare)
app.command("lr-find")(lr_find_command.lr_find)

from . import quantize as quantize_command  # noqa: E402

app.command("quantize")(quantize_command.quantize)

from . import export as export_command  # noqa: E402

app.command("export")(export_command.export)


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of config files (for editor completion)."""
    from torchlite.training.config import Config

    display.print_json(Config.model_json_schema())


def run() -> None:  # pragma: no cover - console entry point alternative
    sys.exit(app())
