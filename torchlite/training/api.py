"""The operations the CLI offers, as plain functions: train, resume, evaluate, predict, validate,
summarize. Each returns data (dicts, arrays); rendering is the caller's business.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import torchlite
from torchlite.serialization import CheckpointError

from . import checkpoint as ckpt
from .build import build_data, build_loss, build_model, resolve_device, transform_from_state
from .config import Config, load_config, validate_config
from .loader import ConfigError, apply_overrides, load_yaml
from .runs import RunPaths, create_run_dir, resolve_checkpoint, run_dir_of
from .trainer import Trainer, check_one_batch


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
          epochs=None, callback: Callable | None = None) -> dict:
    """Validate the config, build everything, then create the run folder and train."""
    extra = _shortcuts(overrides, device, seed, epochs)
    if name is not None:
        extra.append(f"name={name}")
    cfg, _ = load_config(config_path, extra)
    _absolute_paths(cfg)
    trainer = Trainer(cfg, callback=callback)
    trainer.setup()  # every config and data error surfaces here, before a folder exists
    trainer.paths = create_run_dir(cfg.output.root, cfg.name, exist_ok=exist_ok)
    return trainer.fit()


def resume(target, overrides=(), *, device=None, epochs=None,
           callback: Callable | None = None) -> dict:
    """Continue the run holding `target` (a run folder or one of its checkpoints)."""
    p = Path(target)
    run = p if p.is_dir() and not p.name == "weights" else run_dir_of(p)
    if p.is_dir() and p.name == "weights":
        run = p.parent
    paths = RunPaths(run)
    if not paths.config.is_file():
        raise CheckpointError(f"{run}: not a run folder (no config.yaml); --resume takes a run "
                              "folder or a checkpoint inside one")
    text = paths.config.read_text(encoding="utf-8")
    data, source = load_yaml(text, str(paths.config))
    data = apply_overrides(data, _shortcuts(overrides, device, None, epochs), source)
    cfg = validate_config(data, source)
    return Trainer(cfg, paths, callback=callback, resume=True).fit()


def _local_model_file(stored: dict) -> None:
    """A custom model's file is stored as an absolute path on the training machine. Elsewhere,
    find the same relative path under the working directory (configs/models/net.py, ...)."""
    model = stored.get("model") or {}
    if model.get("type") != "custom":
        return
    file_part, sep, cls = str(model.get("target", "")).rpartition(":")
    if not sep or not file_part.endswith(".py") or Path(file_part).is_file():
        return
    parts = Path(file_part).parts
    for i in range(1, len(parts)):
        candidate = Path(*parts[i:])
        if candidate.is_file():
            model["target"] = f"{candidate.resolve()}:{cls}"
            return


def _model_from_checkpoint(path, device: str):
    """Rebuild a checkpoint's model from its stored config and load its weights.

    A custom model's class is imported from the file or module the config names (code on this
    machine, as in training); it must be an nn.Module subclass before anything is called.
    """
    from .registry import RegistryError

    info = ckpt.read_checkpoint_info(path)
    _local_model_file(info["config"])
    try:
        cfg = validate_config(info["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: the config stored in the checkpoint is invalid: {exc}") \
            from None
    from .build import DataBundle

    pre = info["preprocess"]
    data = DataBundle(None, None, None, pre["task"], pre.get("num_classes"), pre.get("classes"),
                      tuple(pre["input_shape"]), tuple(pre["raw_shape"]), None, pre)
    try:
        model = build_model(cfg, data)
    except (ConfigError, RegistryError) as exc:
        raise CheckpointError(f"{path}: cannot rebuild the checkpoint's model: {exc}") from None
    state = torchlite.load(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: the weights do not fit the model in its config: {exc}") \
            from None
    model.to(device).eval()
    return model, cfg, info


def evaluate_checkpoint(target=None, *, data_path: str | None = None, split: str = "test",
                        device: str | None = None, root: str = "runs",
                        batch_size: int | None = None) -> dict[str, Any]:
    """Evaluate a checkpoint: a report dict (also written to the run's eval/ folder).

    The data is the chosen split of the checkpoint's own dataset (split again exactly as in
    training, from the stored config and seed), or `data_path`: an .npz/.csv file of inputs and
    targets is evaluated whole; a folder replaces the dataset's `data.path` (e.g. MNIST files).
    Inputs are preprocessed with the statistics stored in the checkpoint, never refitted.
    """
    from torchlite.utils.data import DataLoader

    from . import metrics as M

    dev = resolve_device(device or "auto")  # a bad --device is a usage error, checked first
    path = resolve_checkpoint(target, root)
    model, cfg, info = _model_from_checkpoint(path, dev)
    pre = info["preprocess"]
    task = pre["task"]
    if data_path is not None and Path(data_path).is_file():
        ds, split = _data_file(Path(data_path), cfg, task), "all"
    else:
        bundle = build_data(cfg, path_override=data_path)
        ds = {"train": bundle.train, "val": bundle.val, "test": bundle.test}.get(split)
        if ds is None:
            raise ValueError(f"eval: the run's dataset has no {split!r} split (its val_split or "
                             "test_split is 0); choose --split train|val|test")
    ds.transform = transform_from_state(pre.get("transform"))
    loader = DataLoader(ds, batch_size=batch_size or cfg.data.eval_batch_size
                        or cfg.data.batch_size)
    outs, tgts = _predict_arrays(model, loader, dev)
    with torchlite.no_grad():
        loss = float(build_loss(cfg)(torchlite.from_numpy(outs), torchlite.from_numpy(tgts)))
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
    out_dir = RunPaths(run_dir_of(path)).eval_dir
    _write_report(out_dir, report)
    report["report_dir"] = str(out_dir)
    return report


def _data_file(p: Path, cfg, task: str):
    """A whole file of inputs and targets to evaluate on (--data FILE)."""
    from torchlite.datasets import load_csv, load_npz

    suffix = p.suffix.lower()
    if suffix == ".npz":
        return load_npz(p, cfg.data.x_key or "x", cfg.data.y_key or "y", task=task)
    if suffix == ".csv":
        kw = {"delimiter": cfg.data.delimiter or ","}
        if cfg.data.header is not None:
            kw["header"] = cfg.data.header
        return load_csv(p, -1 if cfg.data.target is None else cfg.data.target, task=task, **kw)
    raise ValueError(f"--data {p}: evaluation needs inputs and targets in one file (.npz with "
                     "x and y arrays, or .csv with a target column), or a data folder")


def _predict_arrays(model, loader, dev):
    outs, tgts = [], []
    with torchlite.no_grad():
        for x, y in loader:
            outs.append(_host(model(x.to(dev))))
            tgts.append(_host(y))
    return np.concatenate(outs), np.concatenate(tgts)


def _host(t):
    return torchlite.backend.move(t._data, torchlite.backend.CPU)


def _write_report(out_dir: Path, report: dict) -> None:
    from torchlite.serialization import atomic_write_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "report.json",
                       json.dumps(report, indent=2, default=float).encode())
    if "confusion_matrix" in report:
        cm = report["confusion_matrix"]
        names = report.get("class_names") or [str(i) for i in range(len(cm))]
        lines = ["true\\pred," + ",".join(map(str, names))]
        lines += [f"{names[i]}," + ",".join(map(str, row)) for i, row in enumerate(cm)]
        atomic_write_bytes(out_dir / "confusion_matrix.csv", ("\n".join(lines) + "\n").encode())


# ----------------------------------------------------------------------------------------------
# inference


def load_inputs(path, key: str | None = None) -> np.ndarray:
    """Inputs for `predict`: .npy (memory-mapped), .npz (`key`, default the first array), .csv."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such input file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(p, mmap_mode="r", allow_pickle=False)
        if suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                names = list(z.keys())
                k = key or ("x" if "x" in names else names[0] if names else None)
                if k not in names:
                    raise ValueError(f"{p}: no array named {k!r} (it has {', '.join(names)}); "
                                     "pass --key")
                return z[k]
        if suffix == ".csv":
            from torchlite.datasets import load_csv

            return load_csv(p, target=None).inputs
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ValueError(f"{p}: holds Python objects (a pickle), which torchlite never "
                             "loads; save plain numeric arrays") from None
        raise
    raise ValueError(f"{p}: unsupported input type {suffix!r} (use .npy, .npz or .csv)")


def predict(inputs: np.ndarray, target=None, *, device: str | None = None, root: str = "runs",
            batch_size: int = 256, probs: bool = False) -> dict[str, Any]:
    """Run the checkpoint's model on raw inputs (preprocessed as at training time)."""
    dev = resolve_device(device or "auto")
    path = resolve_checkpoint(target, root)
    model, cfg, info = _model_from_checkpoint(path, dev)
    pre = info["preprocess"]
    raw_shape = tuple(pre["raw_shape"])
    x = inputs
    n_raw = int(np.prod(raw_shape))
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"input has shape {tuple(x.shape)}: it holds no samples")
    if tuple(x.shape[1:]) != raw_shape:
        if x.size == n_raw:
            x = x.reshape((1, *raw_shape))  # one unbatched sample, in whatever layout
        elif x.ndim >= 2 and int(np.prod(x.shape[1:])) == n_raw:
            x = x.reshape((x.shape[0], *raw_shape))
        else:
            raise ValueError(
                f"input has shape {tuple(inputs.shape)}, but the model expects samples of shape "
                f"{list(raw_shape)} (a batch (N, {', '.join(map(str, raw_shape))}) or one sample)"
            )
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    transform = transform_from_state(pre.get("transform"))
    outs = []
    with torchlite.no_grad():
        for i in range(0, x.shape[0], batch_size):
            chunk = np.asarray(x[i:i + batch_size], dtype=np.float32)
            if transform is not None:
                chunk = transform(chunk)
            out = model(torchlite.from_numpy(np.ascontiguousarray(chunk)).to(dev))
            outs.append(_host(out))
    logits = np.concatenate(outs) if outs else np.zeros((0,))
    result: dict[str, Any] = {"checkpoint": str(path), "task": pre["task"], "n": len(logits)}
    if pre["task"] == "classification":
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
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
    trainer = Trainer(cfg)
    trainer.setup()
    shape, loss = check_one_batch(cfg, trainer.model, trainer.loss_fn, trainer.data,
                                  trainer.device)
    data = trainer.data
    return {"name": cfg.name, "input_shape": list(data.input_shape), "output_shape": shape,
            "loss": loss, "parameters": sum(p.numel() for p in trainer.model.parameters()),
            "train": len(data.train), "val": len(data.val) if data.val else 0,
            "test": len(data.test) if data.test else 0}


def summarize(target) -> dict[str, Any]:
    """Layer table (output shapes, parameter counts) of a config's or checkpoint's model."""
    p = Path(target)
    if p.suffix in (".yaml", ".yml"):
        cfg, _ = load_config(p)
        data = build_data(cfg)
        model = build_model(cfg, data)
        input_shape = data.input_shape
    else:
        path = resolve_checkpoint(p)
        model, cfg, info = _model_from_checkpoint(path, "cpu")
        input_shape = tuple(info["preprocess"]["input_shape"])
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
    with torchlite.no_grad():
        model(torchlite.zeros((1, *input_shape)))
    for h in hooks:
        h.remove()
    total = sum(q.numel() for q in model.parameters())
    trainable = sum(q.numel() for q in model.parameters() if q.requires_grad)
    size = sum(q.numel() * q.element_size() for q in model.parameters())
    return {"name": cfg.name, "input_shape": list(input_shape), "layers": rows,
            "total_parameters": total, "trainable_parameters": trainable, "size_bytes": size}
