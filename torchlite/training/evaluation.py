"""Evaluating a checkpoint on its own dataset's split or on a file of inputs and targets: the
metrics report, written to the run's eval/ folder beside an optional plot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import torchlite
from torchlite.backend import to_host
from torchlite.errors import DataError, InputNotFoundError

from .build import build_data, build_loss, resolve_device
from .inputs import feature_order, nonfinite
from .loader import UsageError
from .precision import for_checkpoint
from .restore import check_stored_dataset, checked_forward, input_transform, model_from_checkpoint
from .run_guard import RunFolderError, link_error
from .runs import RunPaths, json_safe, resolve_checkpoint, run_dir_of

__all__ = ["evaluate_checkpoint"]


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
    from .threads import choose_threads

    choose_threads(threads, model, tuple(pre["input_shape"]),
                   batch_size or cfg.data.eval_batch_size or cfg.data.batch_size)
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
