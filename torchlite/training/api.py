"""The operations the CLI offers, as plain functions: train, resume, evaluate, predict, validate,
summarize. Each returns data (dicts, arrays); rendering is the caller's business.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import torchlite
from torchlite.backend import to_host
from torchlite.errors import DataError, InputNotFoundError
from torchlite.serialization import CheckpointError

from . import distributed
from .build import build_data, build_loss, input_dtype, resolve_device
from .checkpoint import read_checkpoint_info
from .config import Config, load_config, validate_config
from .inputs import feature_order, load_inputs, nonfinite, select_columns
from .loader import ConfigError, UsageError, apply_overrides, load_yaml
from .precision import for_checkpoint
from .preflight import check_resume_changes
from .prepare import prepare
from .restore import (
    UserModelError,
    check_stored_dataset,
    checked_forward,
    input_transform,
    model_from_checkpoint,
    nonfinite_weights,
)
from .run_guard import RunFolderError, link_error
from .runs import (
    CheckpointNotFoundError,
    RunPaths,
    json_safe,
    open_run_dir,
    reopen_run_dir,
    resolve_checkpoint,
    run_dir_of,
)
from .trainer import Trainer

__all__ = ["UserModelError", "evaluate_checkpoint", "load_inputs", "predict", "resume",
           "summarize", "train", "validate"]


def _shortcuts(overrides, device=None, seed=None, epochs=None) -> list[str]:
    out = list(overrides or [])
    if device is not None:
        out.append(f"device={device}")
    if seed is not None:
        out.append(f"seed={seed}")
    if epochs is not None:
        out.append(f"trainer.epochs={epochs}")
    return out


def _absolute_paths(cfg: Config) -> None:
    """Data files given relative to the working directory are stored absolute in the run's
    config, so eval and infer find them from anywhere."""
    for key in ("path", "targets_path"):
        value = getattr(cfg.data, key, None)
        if value and not Path(value).is_absolute():
            setattr(cfg.data, key, str(Path(value).resolve()))


def train(config_path, overrides=(), *, name=None, exist_ok=False, device=None, seed=None,
          epochs=None, callback: Callable | None = None, plots: bool = True,
          threads: int | None = None) -> dict:
    """Validate the config, build everything, then create the run folder and train.
    `plots=False` leaves out plots/ (as `output.plots: false` does); `threads` as in
    `torchlite._parallel.thread_policy` (None: chosen from the work)."""
    sess = distributed.session()  # one rank of an MPI launch, or the only process
    extra = _shortcuts(overrides, device, seed, epochs)
    if name is not None:
        extra.append(f"name={name}")
    with sess.together("preparing the run"):
        cfg, _ = load_config(config_path, extra)
        _absolute_paths(cfg)
        # every config and data error surfaces here, before a folder exists
        run = prepare(cfg, device=sess.device_for(cfg))
    # the folder stays locked until fit() returns: no other process can write into it
    with sess.run_dir(lambda: open_run_dir(cfg.output.root, cfg.name,
                                           exist_ok=exist_ok)) as paths:
        return _fit(sess.trainer(run, paths, callback=callback, plots=plots), threads)


def _fit(trainer: Trainer, threads: int | None) -> dict:
    """Pick the threads for the run's work, then train; the choice goes into summary.json."""
    from .threads import choose_threads

    run = trainer.run
    choice = choose_threads(threads, run.model, run.data.input_shape, run.cfg.data.batch_size)
    trainer.summary_extra["threads"] = choice.to_dict()
    ids = run.data.preprocess.get("input_dtype") == "int64"  # token ids are never normalised
    trainer.summary_extra["preprocessing"] = {
        "normalize": "none" if ids else run.cfg.data.normalize_for(run.data.raw_shape),
        "normalize_configured": run.cfg.data.normalize, "input_shape": list(run.data.input_shape)}
    return trainer.fit()


def resume(target, overrides=(), *, device=None, epochs=None,
           callback: Callable | None = None, plots: bool = True,
           threads: int | None = None) -> dict:
    """Continue the run holding `target` (a run folder or one of its checkpoints)."""
    sess = distributed.session()  # one rank of an MPI launch, or the only process
    with sess.together("reading the run to resume"):
        p = Path(target)
        if not p.exists():  # else run_dir_of would name the parent folder
            raise CheckpointNotFoundError(f"{p}: no such run folder or checkpoint")
        run = p if p.is_dir() and p.name != "weights" else run_dir_of(p)  # weights/ -> its run
        paths = RunPaths(run)
        if not paths.config.is_file():
            raise CheckpointError(f"{run}: not a run folder (no config.yaml); --resume takes a "
                                  "run folder or a checkpoint inside one")
        text = paths.config.read_text(encoding="utf-8")
        data, source = load_yaml(text, str(paths.config))
        stored = copy.deepcopy(data)
        data = apply_overrides(data, _shortcuts(overrides, device, None, epochs), source)
        cfg = validate_config(data, source)
        check_resume_changes(_trained_config(paths, stored), cfg)
        distributed.check_resume_world(paths, sess.world_size)
    # locked until fit() returns; refuses symbolic links
    with sess.run_dir(lambda: reopen_run_dir(run), resume_from=run) as paths:
        with sess.together("preparing the run"):
            prepared = prepare(cfg, device=sess.device_for(cfg))
        return _fit(sess.trainer(prepared, paths, callback=callback, resume=True, plots=plots),
                    threads)


def _trained_config(paths: RunPaths, stored: dict) -> Config:
    """The config the run trained with: the one stored with its last weights (a hand edit of
    config.yaml does not change it), or config.yaml before overrides when no epoch was saved."""
    if paths.last.is_file():
        try:
            return validate_config(read_checkpoint_info(paths.last)["config"])
        except ConfigError as exc:
            raise CheckpointError(f"{paths.last}: the config stored in the checkpoint is "
                                  f"invalid: {exc}") from None
    return validate_config(stored)


# ----------------------------------------------------------------------------------------------
# evaluation


def evaluate_checkpoint(target=None, *, data_path: str | None = None, split: str = "test",
                        device: str | None = None, root: str = "runs",
                        batch_size: int | None = None, model_code: str | None = None,
                        trust_model_code: bool = False, plots: bool = True,
                        threads: int | None = None,
                        precision: str | None = None) -> dict[str, Any]:
    """Evaluate a checkpoint: a report dict (also written to the run's eval/ folder).

    The data is the chosen split of the checkpoint's own dataset (split again exactly as in
    training, from the stored config and seed), or `data_path`: an .npz/.csv file of inputs and
    targets is evaluated whole; a folder replaces the dataset's `data.path` (e.g. MNIST files).
    Inputs are preprocessed with the statistics stored in the checkpoint, never refitted.
    A custom model needs `model_code` or `trust_model_code` (see model_from_checkpoint).

    The report is plain JSON data (NaN/inf as None). When eval/ cannot be written, the report
    is still returned, with `report_dir` None and `report_error` saying why. `precision`
    (trainer.precision's names) defaults to the one the checkpoint was trained in. Unless `plots` is
    False (or the run's config has `output.plots: false`), a picture is drawn beside the report
    (plots.write_eval_plot): its path is `plot`, or `plot_error` says why there is none.
    """
    from torchlite.utils.data import DataLoader

    from . import metrics as M

    dev = resolve_device(device or "auto")  # a bad --device is a usage error, checked first
    if data_path is not None and not Path(data_path).exists():
        raise InputNotFoundError(f"{data_path}: no such file or folder (--data)")
    path = resolve_checkpoint(target, root)
    model, cfg, info = model_from_checkpoint(path, dev, model_code=model_code,
                                             trust_model_code=trust_model_code)
    for_checkpoint(model, cfg, precision, dev)
    pre = info["preprocess"]
    task = pre["task"]
    _threads_for(threads, model, pre, batch_size or cfg.data.eval_batch_size or
                 cfg.data.batch_size)
    if data_path is not None and Path(data_path).is_file():
        ds, split = _data_file(Path(data_path), cfg, pre), "all"
    else:
        if data_path is not None and not _takes_folder(cfg.data.dataset):
            raise DataError(f"--data {data_path}: a folder, but the run's dataset "
                             f"{cfg.data.dataset!r} is not read from a folder; pass an .npz "
                             "(x and y arrays) or .csv file (with a target column)")
        check_stored_dataset(path, cfg)  # its sizes come from the file
        bundle = build_data(cfg, path_override=data_path)
        parts = {"train": bundle.train, "val": bundle.val, "test": bundle.test}
        ds = parts.get(split)
        if ds is None:  # the command's argument, not the run, is at fault: a usage error
            have = [k for k, v in parts.items() if v is not None]
            raise UsageError(f"--split {split}: the run's dataset has no {split} split "
                             f"(data.{split}_split is 0 in its config); its splits are "
                             f"{', '.join(have)}")
    ds.transform = input_transform(path, pre)
    loader = DataLoader(ds, batch_size=batch_size or cfg.data.eval_batch_size
                        or cfg.data.batch_size)
    outs, tgts = _predict_arrays(model, loader, dev, cfg)
    with torchlite.no_grad():
        loss = float(build_loss(cfg, preprocess=pre)(torchlite.from_numpy(outs),
                                                       torchlite.from_numpy(tgts)))
    report: dict[str, Any] = {"checkpoint": str(path), "split": split, "samples": len(ds),
                              "task": task, "epoch": info.get("epoch"), "loss": loss}
    if task == "classification":
        cm = M.confusion_matrix(outs, tgts, pre.get("num_classes"))
        report["accuracy"] = float(np.trace(cm) / max(cm.sum(), 1))
        report["confusion_matrix"] = cm.tolist()
        report.update(M.classification_report(cm, pre.get("classes")))
    else:
        for name in ("mse", "rmse", "mae", "r2"):
            report[name] = M.compute_metric(name, outs, tgts)
    for name in cfg.metrics:  # every metric the run logged (top3_accuracy, ...) too
        if name not in report and M.metric_task(name) == task:
            report[name] = M.compute_metric(name, outs, tgts)
    report = json_safe(report)  # NaN/inf as null: report.json and `eval --json` stay JSON
    run = RunPaths(run_dir_of(path))
    out_dir = run.eval_dir
    try:
        if not run.config.is_file():  # a downloaded file: no eval/ beside it, in ~/Downloads
            raise RunFolderError(f"{path} is not inside a run folder (no config.yaml beside "
                                 "its weights/ folder), so the report is not saved; --json "
                                 "prints it")
        _write_report(out_dir, report)
    except RunFolderError as exc:  # eval/ (or a report file) is a link: nothing written
        report["report_dir"] = None
        report["report_error"] = str(exc)
    except OSError as exc:  # a read-only run folder must not cost the user the metrics
        reason = f"{out_dir} is a file, not a folder" if out_dir.is_file() else \
            exc.strerror or str(exc)
        report["report_dir"] = None
        report["report_error"] = f"cannot write {exc.filename or out_dir}: {reason}"
    else:
        report["report_dir"] = str(out_dir)
        if plots and cfg.output.plots:
            _write_eval_plot(report, out_dir, outs, tgts)
    return report


def _threads_for(threads: int | None, model, pre: dict, batch_size: int) -> None:
    """The thread policy for evaluating or predicting with a checkpoint's model."""
    from .threads import choose_threads

    choose_threads(threads, model, tuple(pre["input_shape"]), batch_size)


def _write_eval_plot(report: dict, out_dir: Path, outs, tgts) -> None:
    """The confusion matrix or predicted-vs-true picture; the report stands without it."""
    from . import plots

    try:
        report["plot"] = str(plots.write_eval_plot(out_dir, report, outs, tgts))
    except plots.PlotsUnavailableError:
        report["plot_error"] = f"plots skipped: {plots.PLOT_EXTRA}"
    except (OSError, RunFolderError) as exc:
        report["plot_error"] = f"plot not written: {exc}"


def _takes_folder(dataset: str) -> bool:
    """Whether a dataset reads a folder of files (mnist-like), so --data FOLDER can replace it."""
    import inspect

    from . import registry

    info = registry.DATASETS.get(dataset)
    if info is None or info.source != "builtin":
        return False
    return "path" in inspect.signature(registry.import_object(info.target)).parameters


def _data_file(p: Path, cfg, pre: dict):
    """A whole file of inputs and targets to evaluate on (--data FILE), checked against the
    model: sample shape, labels (text labels mapped through the checkpoint's class names),
    finite inputs."""
    from torchlite.datasets import load_csv

    from .build import load_npz_data

    task = pre["task"]
    suffix = p.suffix.lower()
    if suffix == ".npz":
        ds = load_npz_data(cfg, p, task, stored=True)
    elif suffix == ".csv":
        kw = {"delimiter": cfg.data.delimiter or ","}
        if cfg.data.header is not None:
            kw["header"] = cfg.data.header
        ds = load_csv(p, -1 if cfg.data.target is None else cfg.data.target, task=task, **kw)
    else:
        raise DataError(f"--data {p}: evaluation needs inputs and targets in one file (.npz "
                         "with x and y arrays, or .csv with a target column), or a data folder")
    names = pre.get("feature_names")
    if names and ds.feature_names is not None:  # a table's columns, matched by name
        ds.inputs = ds.inputs[:, feature_order(ds.feature_names, names, str(p))]
        ds.feature_names = list(names)
    raw = tuple(pre["raw_shape"])
    if ds.sample_shape != raw:
        if int(np.prod(ds.sample_shape)) != int(np.prod(raw)):
            raise DataError(f"{p}: samples have shape {list(ds.sample_shape)}, but the model "
                             f"expects samples of shape {list(raw)}")
        ds.inputs = ds.inputs.reshape((len(ds), *raw))
    if task == "classification":
        _match_labels(ds, p, pre)
    elif pre.get("targets_dim") and ds.targets.shape[1] != pre["targets_dim"]:
        raise DataError(f"{p}: targets have {ds.targets.shape[1]} values per sample, but the "
                         f"model predicts {pre['targets_dim']}")
    bad = nonfinite(ds.inputs, str(p))
    if bad is not None:
        raise bad
    if pre.get("input_dtype") == "int64":  # token ids, fed as integers as in training
        from .token_inputs import check_token_ids

        check_token_ids(np.asarray(ds.inputs), str(p))
        ds.input_dtype = np.dtype(np.int64)
    return ds


def _match_labels(ds, p: Path, pre: dict) -> None:
    """Make `ds.targets` the model's class indices: text labels (a CSV's, or an .npz's class
    names) go through the class names stored in the checkpoint, never the file's own order;
    numbers must lie in 0..num_classes-1."""
    known, n = pre.get("classes"), pre["num_classes"]
    if ds.classes is not None and known is not None:
        lookup = {str(c): i for i, c in enumerate(known)}
        used = [ds.classes[i] for i in np.unique(ds.targets)]
        unknown = [c for c in used if c not in lookup]
        if unknown:
            raise DataError(f"{p}: label{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown[:5]))} not among the model's classes "
                             f"({', '.join(map(str, known))})")
        ds.targets = np.array([lookup.get(c, -1) for c in ds.classes])[ds.targets]
        ds.classes = list(known)
    elif ds.classes is not None and p.suffix.lower() == ".csv":
        raise DataError(f"{p}: text labels ({', '.join(map(repr, ds.classes[:5]))}), but the "
                         f"model's classes are the numbers 0..{n - 1}")
    over = np.flatnonzero(ds.targets >= n)
    if over.size:
        raise DataError(f"{p}: label {int(ds.targets[over[0]])} (sample {int(over[0])}) is "
                         f"outside the model's classes 0..{n - 1}")


def _predict_arrays(model, loader, dev, cfg):
    outs, tgts = [], []
    with torchlite.no_grad():
        for x, y in loader:
            outs.append(to_host(checked_forward(model, x.to(dev), cfg)._data))
            tgts.append(to_host(y._data))
    return np.concatenate(outs), np.concatenate(tgts)


def _write_report(out_dir: Path, report: dict) -> None:
    from torchlite.serialization import atomic_write_bytes

    for p in (out_dir, out_dir / "report.json", out_dir / "confusion_matrix.csv"):
        if p.is_symlink():  # never written through: its target may be anyone's files
            raise link_error(p)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "report.json",
                       json.dumps(json_safe(report), indent=2, allow_nan=False).encode())
    if "confusion_matrix" in report:
        cm = report["confusion_matrix"]
        names = report.get("class_names") or [str(i) for i in range(len(cm))]
        lines = ["true\\pred," + ",".join(map(str, names))]
        lines += [f"{names[i]}," + ",".join(map(str, row)) for i, row in enumerate(cm)]
        atomic_write_bytes(out_dir / "confusion_matrix.csv", ("\n".join(lines) + "\n").encode())


# ----------------------------------------------------------------------------------------------
# inference


def predict(inputs: np.ndarray, target=None, *, device: str | None = None, root: str = "runs",
            batch_size: int = 256, probs: bool = False, model_code: str | None = None,
            trust_model_code: bool = False, threads: int | None = None,
            precision: str | None = None) -> dict[str, Any]:
    """Run the checkpoint's model on raw inputs (preprocessed as at training time), in
    `precision` (default: the checkpoint's trainer.precision).

    Errors name `inputs.source` when the inputs come from `load_inputs`. Inputs must be real
    numbers, finite as float32; complex values are refused, not cut to their real part.
    A custom model needs `model_code` or `trust_model_code` (see model_from_checkpoint).
    """
    src = getattr(inputs, "source", None) or "input"
    if batch_size < 1:
        raise UsageError(f"batch size must be at least 1, got {batch_size}")
    if inputs.dtype.kind not in "biuf":
        raise DataError(f"{src}: inputs of dtype {inputs.dtype} are not accepted: the model "
                         "takes real numbers (complex or text values have no meaning for it)")
    dev = resolve_device(device or "auto")
    path = resolve_checkpoint(target, root)
    model, cfg, info = model_from_checkpoint(path, dev, model_code=model_code,
                                             trust_model_code=trust_model_code)
    bad = nonfinite_weights(model)
    if bad is not None:  # every prediction would be NaN: no answer is better than that one
        raise CheckpointError(f"{path}: its weights hold NaN or infinite values (first in "
                              f"{bad!r}), as a diverged run saves them; predictions from them "
                              "would be meaningless")
    for_checkpoint(model, cfg, precision, dev)
    pre = info["preprocess"]
    _threads_for(threads, model, pre, batch_size)
    if probs and pre["task"] != "classification":
        raise UsageError(f"--probs: {path} is a regression model; its outputs are values, "
                         "not class probabilities")
    raw_shape = tuple(pre["raw_shape"])
    x = inputs
    if getattr(inputs, "columns", None) is not None:
        x = select_columns(inputs, cfg, pre, src)
    n_raw = int(np.prod(raw_shape))
    if x.ndim == 0 or x.size == 0:
        raise DataError(f"{src} has shape {tuple(x.shape)}: it holds no samples")
    given = x  # errors give positions in the layout of the user's array
    if tuple(x.shape[1:]) != raw_shape:
        if x.size == n_raw:
            given = x[None]
            x = x.reshape((1, *raw_shape))  # one unbatched sample, in whatever layout
        elif x.ndim >= 2 and int(np.prod(x.shape[1:])) == n_raw:
            x = x.reshape((x.shape[0], *raw_shape))
        else:
            hint = ""
            if x.ndim == 2 and x.shape[1] == n_raw + 1:
                hint = "; it has one column too many: if that is the target column, remove it"
            raise DataError(
                f"{src} has shape {tuple(x.shape)}, but the model expects samples of shape "
                f"{list(raw_shape)} (a batch (N, {', '.join(map(str, raw_shape))}) or one "
                f"sample){hint}")
    transform = input_transform(path, pre)
    ids = pre.get("input_dtype") == "int64"  # token ids: checked whole and fed as int64
    if ids:
        from .token_inputs import check_token_ids

        check_token_ids(np.asarray(x), src)
    outs = []
    with torchlite.no_grad():
        for i in range(0, x.shape[0], batch_size):
            with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: refused
                chunk = np.asarray(x[i:i + batch_size], dtype=np.int64 if ids else np.float32)
            if x.dtype.kind == "f" and not ids and not np.isfinite(chunk).all():
                raise nonfinite(given, src)
            if transform is not None:
                chunk = transform(chunk)
            xb = torchlite.from_numpy(np.ascontiguousarray(chunk)).to(dev)
            out = checked_forward(model, xb, cfg)
            outs.append(to_host(out._data))
    logits = np.concatenate(outs) if outs else np.zeros((0,))
    result: dict[str, Any] = {"checkpoint": str(path), "task": pre["task"], "n": len(logits)}
    if pre["task"] == "classification" and logits.ndim == 2 and logits.shape[1] == 1:
        # one logit per sample (BCEWithLogitsLoss): the probability of class 1 is its sigmoid
        p1 = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        p = np.concatenate([1.0 - p1, p1], axis=1).astype(logits.dtype)
    elif pre["task"] == "classification":
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
    if pre["task"] == "classification":
        result["pred"] = p.argmax(axis=1)
        result["confidence"] = p.max(axis=1)
        result["probs"] = p
        result["classes"] = pre.get("classes")
        result["output"] = p if probs else logits
    else:
        result["output"] = logits
    return result


# ----------------------------------------------------------------------------------------------
# validate / summary


def validate(config_path, overrides=()) -> dict[str, Any]:
    """Check a config: build everything and run one batch forward (no training, no files)."""
    cfg, _ = load_config(config_path, overrides)
    run = prepare(cfg)
    shape, loss = run.first_batch
    data = run.data
    return {"name": cfg.name, "input_shape": list(data.input_shape), "output_shape": shape,
            "loss": loss, "parameters": sum(p.numel() for p in run.model.parameters()),
            "train": len(data.train), "val": len(data.val) if data.val else 0,
            "test": len(data.test) if data.test else 0}


def summarize(target, *, model_code: str | None = None,
              trust_model_code: bool = False) -> dict[str, Any]:
    """Layer table (output shapes, parameter counts) of a config's or checkpoint's model. A
    checkpoint's custom model needs `model_code` or `trust_model_code`."""
    p = Path(target)
    from_config = p.suffix.lower() in (".yaml", ".yml")
    if from_config:  # the config's own model: its failures are config errors, as in train
        cfg, _ = load_config(p)
        run = prepare(cfg, upto="model", device="cpu")
        model, input_shape, forward = run.model, run.data.input_shape, run.forward
    else:
        path = resolve_checkpoint(p)
        model, cfg, info = model_from_checkpoint(path, "cpu", model_code=model_code,
                                                 trust_model_code=trust_model_code)
        input_shape = tuple(info["preprocess"]["input_shape"])
        forward = partial(checked_forward, model, cfg=cfg)
    rows = []
    hooks = []

    def hook(mod, inputs, output, name):
        shape = list(output.shape) if hasattr(output, "shape") else \
            [list(o.shape) for o in output if hasattr(o, "shape")]
        own = sum(q.numel() for q in mod.parameters(recurse=False))
        rows.append({"name": name, "type": type(mod).__name__, "output_shape": shape,
                     "parameters": own})

    for name, mod in model.named_modules():
        if name and not list(mod.children()):
            hooks.append(mod.register_forward_hook(
                lambda m, i, o, name=name: hook(m, i, o, name)))
    model.eval()
    ids = (input_dtype(cfg) if from_config else info["preprocess"].get("input_dtype")) == "int64"
    with torchlite.no_grad():  # token ids (data.input_dtype int64) go in as integers
        forward(torchlite.zeros((1, *input_shape), dtype=torchlite.int64 if ids else None))
    for h in hooks:
        h.remove()
    total = sum(q.numel() for q in model.parameters())
    trainable = sum(q.numel() for q in model.parameters() if q.requires_grad)
    size = sum(q.numel() * q.element_size() for q in model.parameters())
    return {"name": cfg.name, "input_shape": list(input_shape), "layers": rows,
            "total_parameters": total, "trainable_parameters": trainable, "size_bytes": size}
