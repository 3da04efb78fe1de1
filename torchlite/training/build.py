"""Config -> the objects of a run: data splits and preprocessing, model, loss, optimizer, scheduler.

Every name is looked up in the explicit tables of `registry`; constructor arguments are checked
against the class's signature so a typo gives `optimizer.lrr: unknown argument` rather than a
TypeError from deep inside.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import registry
from .config import Config
from .loader import ConfigError, did_you_mean


@dataclass
class DataBundle:
    """The splits of a run's dataset and what a checkpoint must remember to preprocess inputs."""

    train: Any
    val: Any
    test: Any
    task: str
    num_classes: int | None
    classes: list | None
    input_shape: tuple  # one sample as the model sees it
    raw_shape: tuple  # one sample as the dataset stores it
    transform: Any = None
    preprocess: dict = field(default_factory=dict)  # JSON-able, stored in checkpoints


def _problem(cfg: Config | None, path, msg) -> ConfigError:
    if cfg is not None:
        return ConfigError([cfg.source.problem(tuple(path), msg)])
    from .loader import ConfigProblem, format_path

    return ConfigError([ConfigProblem(None, None, format_path(tuple(path)), msg)])


# ----------------------------------------------------------------------------------------------
# data


def _flat_model(cfg: Config) -> bool:
    """Models that start with a Linear layer want each sample as a flat feature vector."""
    m = cfg.model
    if m.type == "mlp":
        return True
    if m.type == "sequential":
        return m.layers[0].type in ("Linear", "Bilinear")
    return False


def input_dtype(cfg: Config) -> str:
    """"int64" when the inputs are token ids (data.input_dtype, or the tokens dataset), else
    "float32"."""
    d = cfg.data
    if d.input_dtype != "auto":
        return d.input_dtype
    return "int64" if d.dataset == "tokens" else "float32"


def load_dataset(cfg: Config, path_override: str | None = None):
    """The whole dataset named by `cfg.data` (before splitting)."""
    import torchlite.datasets as ds

    d = cfg.data
    path = path_override or d.path
    name = d.dataset
    if name == "digits":
        return ds.digits()
    if name in ("mnist", "fashion_mnist"):
        return getattr(ds, name)(path)
    if name == "npz":
        return load_npz_data(cfg, path, d.task)
    if name == "npy":
        return ds.load_npy(path, d.targets_path, task=d.task)
    if name == "csv":
        kw = {"task": d.task, "delimiter": d.delimiter or ","}
        if d.header is not None:
            kw["header"] = d.header
        return ds.load_csv(path, -1 if d.target is None else d.target, **kw)
    opts = dict(d.options)  # only the options this dataset takes (checked by the schema)
    opts["seed"] = cfg.seed
    if name == "blobs" and "n_classes" in opts:
        opts["centers"] = opts.pop("n_classes")
    return getattr(ds, name)(**opts)


def load_npz_data(cfg: Config, path, task: str | None, *, stored: bool = False):
    """load_npz with the array names of `cfg.data` (x_key, y_key). A missing array names the
    config key that selects it: to set (the user's config) or, when the config is `stored` in
    a checkpoint (eval --data), the name the file must use."""
    from torchlite.datasets import DatasetError, MissingArrayError, load_npz

    d = cfg.data
    try:
        return load_npz(path, d.x_key or "x", d.y_key or "y", task=task)
    except MissingArrayError as exc:
        key = "x_key" if exc.role == "inputs" else "y_key"
        have = ", ".join(exc.keys) or "no arrays"
        fix = (f"the {exc.role} are read from the array named {exc.key!r} (data.{key} of the "
               "run's config)" if stored else f"set data.{key} to the name of the {exc.role} "
               "array")
        raise DatasetError(f"{exc.path}: no array {exc.key!r} for the {exc.role}; the file has "
                           f"{have}; {fix}") from None


def _make_transform(cfg: Config, sample_shape: tuple):
    from torchlite.datasets import Compose, Normalize, Reshape, Standardize

    steps = []
    kind = cfg.data.normalize_for(sample_shape)
    target_shape = None
    if cfg.data.input_shape:
        target_shape = tuple(cfg.data.input_shape)
    elif _flat_model(cfg) and len(sample_shape) > 1:
        target_shape = (int(np.prod(sample_shape)),)
    if target_shape is not None:
        if int(np.prod(target_shape)) != int(np.prod(sample_shape)):
            raise _problem(cfg, ("data", "input_shape"),
                           f"{list(target_shape)} does not hold a sample of shape "
                           f"{list(sample_shape)} ({int(np.prod(sample_shape))} values)")
        steps.append(Reshape(target_shape))
    if kind == "standard":
        steps.append(Standardize())
    elif kind == "global_standard":
        steps.append(Normalize())
    elif kind in ("minmax", "global_minmax"):
        steps.append(_MinMax(per_feature=kind == "minmax"))
    return Compose(steps) if steps else None


class _MinMax:
    """Scale to [0, 1] with the training split's min and max (per feature or global)."""

    def __init__(self, per_feature: bool = True) -> None:
        self.per_feature = per_feature
        self.lo = self.hi = None

    fitted = property(lambda self: self.lo is not None)

    def fit(self, x):
        x = np.asarray(x, dtype=np.float64)
        axis = 0 if self.per_feature else None
        self.lo, self.hi = x.min(axis=axis), x.max(axis=axis)
        return self

    def __call__(self, x):
        span = np.where(self.hi - self.lo > 0, self.hi - self.lo, 1.0)
        return ((x - self.lo) / span).astype(np.float32)

    def state_dict(self):
        return {"type": "MinMax", "per_feature": self.per_feature,
                "lo": np.asarray(self.lo).tolist(), "hi": np.asarray(self.hi).tolist()}

    def load_state_dict(self, state):
        self.per_feature = state["per_feature"]
        self.lo, self.hi = np.asarray(state["lo"]), np.asarray(state["hi"])


def transform_from_state(state):
    """Rebuild the preprocessing stored in a checkpoint."""
    if state is None:
        return None
    from torchlite.datasets import Compose
    from torchlite.datasets import transform_from_state as _tfs

    if state.get("type") == "MinMax":
        t = _MinMax()
        t.load_state_dict(state)
        return t
    if state.get("type") == "Compose":
        return Compose([transform_from_state(s) for s in state["transforms"]])
    return _tfs(state)


def _state_of(transform):
    if transform is None:
        return None
    from torchlite.datasets import Compose

    if isinstance(transform, Compose):
        return {"type": "Compose", "transforms": [_state_of(t) for t in transform.transforms]}
    return transform.state_dict()


def build_data(cfg: Config, path_override: str | None = None) -> DataBundle:
    """Load, split (deterministic in the seed) and fit preprocessing on the training split."""
    from torchlite.datasets import DatasetError, train_val_test_split

    full = load_dataset(cfg, path_override)
    info = registry.DATASETS[cfg.data.dataset]
    task = full.task or cfg.data.task or "classification"
    where = str(path_override or cfg.data.path or cfg.data.dataset)
    if full.targets is None:
        raise DatasetError(f"{where}: the dataset has no targets; training needs class labels "
                           "or values")
    if task == "classification":
        present = np.unique(full.targets)
        if len(present) < 2:  # a 1-output model whose loss and metrics are meaningless
            label = int(present[0])
            shown = f"{label}, {full.classes[label]!r}" if full.classes else str(label)
            raise DatasetError(f"{where}: the targets hold one class ({shown}); "
                               "classification needs at least two")
    ids = input_dtype(cfg) == "int64"
    if ids:
        from .token_inputs import as_token_ids

        as_token_ids(full, where, cfg.data.normalize, lambda path, msg: _problem(cfg, path, msg))
    test = 0.0 if info.has_test_split else cfg.data.test_split
    splits = train_val_test_split(full, val=cfg.data.val_split, test=test, seed=cfg.seed,
                                  stratify=cfg.data.stratify and task == "classification")
    raw_shape = tuple(full.sample_shape)
    transform = None if ids else _make_transform(cfg, raw_shape)
    if transform is not None:
        transform.fit(np.asarray(splits.train.inputs, dtype=np.float32))
    for part in splits:
        if part is not None:
            part.transform = transform
    sample = transform(np.zeros((1, *raw_shape), np.float32)) if transform else \
        np.zeros((1, *raw_shape), np.float32)
    input_shape = tuple(sample.shape[1:])
    num_classes = full.num_classes if task == "classification" else None
    classes = full.classes
    preprocess = {
        "task": task, "num_classes": num_classes, "classes": classes,
        "raw_shape": list(raw_shape), "input_shape": list(input_shape),
        "transform": _state_of(transform),
        "targets_dim": None if task == "classification" else int(full.targets.shape[1]),
    }
    if ids:  # inference feeds the same integer ids (checkpoints of float inputs say nothing)
        preprocess["input_dtype"] = "int64"
    # a CSV's column names: infer puts a table's columns in this order by name (and drops the
    # target's), so a file with the same header in another order gives the same predictions
    feature_names = getattr(full, "feature_names", None)
    if feature_names is not None and len(set(feature_names)) == len(feature_names):
        preprocess["feature_names"] = list(feature_names)
        target_name = getattr(full, "meta", {}).get("target_name")
        if isinstance(target_name, str):
            preprocess["target_name"] = target_name
    return DataBundle(splits.train, splits.val, splits.test, task, num_classes, classes,
                      input_shape, raw_shape, transform, preprocess)


# ----------------------------------------------------------------------------------------------
# objects from {type: Name, **kwargs}


def _construct(kind: str, name: str, kwargs: dict, path: tuple, cfg: Config | None, *args):
    cls = registry.resolve(kind, name)
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        sig = None
    if sig is not None:
        params = sig.parameters
        accepts_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
        if not accepts_kw:
            for key in kwargs:
                if key not in params:
                    takes = [p for p in params if p not in ("self", "params")]
                    raise _problem(cfg, (*path, key), f"{name} has no argument {key!r}"
                                   f"{did_you_mean(key, takes)} (it takes {', '.join(takes)})")
    try:
        return cls(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise _problem(cfg, path, f"{name}: {exc}") from None


def build_model(cfg: Config, data: DataBundle):
    """The model a config describes (output size inferred from the data where left out)."""
    from torchlite import nn

    from . import models

    m = cfg.model
    out_dim = data.num_classes if data.task == "classification" else \
        data.preprocess.get("targets_dim") or 1
    if m.type == "sequential":
        layers = []
        for i, spec in enumerate(m.layers):
            kwargs = spec.kwargs
            layers.append(_construct("layer", spec.type, kwargs, ("model", "layers", i), cfg))
        return nn.Sequential(*layers)
    if m.type == "custom":
        cls = registry.import_object(m.target)
        # checked before the call: a config (or a checkpoint's stored config) must not be able
        # to make us call an arbitrary function
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise _problem(cfg, ("model", "target"),
                           f"{m.target} is not a torchlite nn.Module subclass")
        try:
            return cls(**m.args)
        except TypeError as exc:
            raise _problem(cfg, ("model", "args"), f"{m.target}: {exc}") from None
    if m.type == "mlp":
        return models.mlp(m.in_features or int(np.prod(data.input_shape)), m.hidden,
                          m.out_features or out_dim, m.activation, m.dropout, m.batch_norm)
    if m.type == "lenet5":
        c, h, w = _image_shape(cfg, data)
        return models.lenet5(m.in_channels or c, m.num_classes or out_dim, (h, w),
                             m.activation, m.dropout)
    if m.type == "resnet":
        c, _, _ = _image_shape(cfg, data)
        return models.resnet(m.in_channels or c, m.num_classes or out_dim, m.widths, m.blocks)
    raise _problem(cfg, ("model", "type"), f"unknown model type {m.type!r}")  # pragma: no cover


def _image_shape(cfg, data):
    s = data.input_shape
    if len(s) != 3:
        raise _problem(cfg, ("model", "type"),
                       f"{cfg.model.type} needs image samples (C, H, W), but the data gives "
                       f"{list(s)}; set data.input_shape")
    return s


def build_loss(cfg: Config, data: DataBundle | None = None, preprocess: dict | None = None):
    """The loss, fitted to the data by loss_options (class weights, 0/1 targets)."""
    from .loss_options import BINARY_LOSSES, BinaryTargets, loss_arguments

    loss = _construct("loss", cfg.loss.type, loss_arguments(cfg, data, preprocess), ("loss",),
                      cfg)
    return BinaryTargets(loss) if cfg.loss.type in BINARY_LOSSES else loss


def build_optimizer(cfg: Config, model):
    from .sparse_optim import build_split_optimizer, sparse_parameters

    if cfg.optimizer.type == "SparseAdam" or sparse_parameters(model):
        return build_split_optimizer(cfg, model, _construct,
                                     lambda path, msg: _problem(cfg, path, msg))
    return _construct("optimizer", cfg.optimizer.type, cfg.optimizer.kwargs, ("optimizer",),
                      cfg, model.parameters())


def build_scheduler(cfg: Config, optimizer, steps_per_epoch: int):
    s = cfg.scheduler
    if s is None:
        return None
    kwargs = s.kwargs
    if s.type == "OneCycleLR" and "total_steps" not in kwargs and "epochs" not in kwargs:
        # the cycle spans the run: as many steps as the trainer will step the scheduler
        per_epoch = max(steps_per_epoch, 1) if s.interval == "step" else 1
        kwargs["total_steps"] = cfg.trainer.epochs * per_epoch
    if s.type in ("SequentialLR", "ChainedScheduler"):
        inner = []
        for i, spec in enumerate(kwargs.pop("schedulers", [])):
            spec = dict(spec)
            name = spec.pop("type", None)
            if name is None or name not in registry.SCHEDULERS:
                raise _problem(cfg, ("scheduler", "schedulers", i, "type"),
                               f"unknown scheduler {name!r}"
                               f"{did_you_mean(str(name), registry.SCHEDULERS)}")
            inner.append(_construct("scheduler", name, spec, ("scheduler", "schedulers", i),
                                    cfg, optimizer))
        if s.type == "SequentialLR":
            return _construct("scheduler", s.type, kwargs, ("scheduler",), cfg, optimizer, inner)
        return _construct("scheduler", s.type, kwargs, ("scheduler",), cfg, inner)
    return _construct("scheduler", s.type, kwargs, ("scheduler",), cfg, optimizer)


def resolve_device(spec: str) -> str:
    """'auto' picks cuda when available; an explicit 'cuda' without a GPU is a clear error
    (RuntimeError "CUDA is not available ..."), a malformed name or a missing GPU index a
    ConfigError on `device`."""
    import torchlite

    from .config import _device

    try:
        _device(spec)
    except ValueError as exc:  # pydantic's error type is a ValueError
        raise _problem(None, ("device",), str(exc)) from None
    if spec == "auto":
        return "cuda" if torchlite.cuda.is_available() else "cpu"
    try:
        torchlite.backend.to_device(spec)  # raises a clear error when CUDA is missing
    except RuntimeError as exc:
        if "invalid device ordinal" not in str(exc):
            raise
        raise _problem(None, ("device",), str(exc)) from None
    return spec
