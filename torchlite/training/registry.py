"""Explicit name tables: the names a config may use, mapped to "module:attr" strings.

Nothing registers itself by import side effect: a name is usable in a config if and only if it is
written here. Targets are imported lazily (`resolve`), so this module and the config schema work
before (and without) importing torchlite.nn or torchlite.optim.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RegistryError
from .loader import did_you_mean

__all__ = [
    "ACTIVATIONS", "DATASETS", "LAYERS", "LOSS_TASKS", "LOSSES", "METRICS", "MODELS", "OPTIMIZERS",
    "SCHEDULERS", "UNSUPPORTED", "DatasetInfo", "RegistryError", "check_name", "import_module",
    "import_object", "is_file_target", "names", "resolve", "unknown_name_message",
]


def _table(module: str, names: str) -> dict[str, str]:
    return {n: f"{module}:{n}" for n in names.split()}


ACTIVATIONS = _table(
    "torchlite.nn",
    "ReLU ReLU6 LeakyReLU PReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Softplus Softsign "
    "Hardtanh Hardsigmoid Hardswish Softmax LogSoftmax Threshold",
)

# Every layer of the nn issues (3 and 4) that a `sequential` model may list.
LAYERS = {
    **_table(
        "torchlite.nn",
        "Identity Flatten Unflatten Linear Bilinear Dropout Dropout1d Dropout2d AlphaDropout "
        "BatchNorm1d BatchNorm2d LayerNorm GroupNorm InstanceNorm2d Embedding EmbeddingBag "
        "Conv1d Conv2d ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d "
        "AdaptiveAvgPool2d AdaptiveMaxPool2d Upsample PixelShuffle "
        "RNN LSTM GRU RNNCell LSTMCell GRUCell MultiheadAttention TransformerEncoderLayer "
        "TransformerEncoder",
    ),
    **ACTIVATIONS,
}

LOSSES = _table(
    "torchlite.nn",
    "MSELoss L1Loss SmoothL1Loss HuberLoss CrossEntropyLoss NLLLoss BCELoss BCEWithLogitsLoss "
    "KLDivLoss CosineEmbeddingLoss MarginRankingLoss TripletMarginLoss",
)

OPTIMIZERS = _table(
    "torchlite.optim",
    "SGD Adam AdamW Adagrad RMSprop Adadelta Adamax NAdam RAdam SparseAdam ASGD Rprop LBFGS",
)

# The task a loss is made for, where it is unambiguous: a loss of the other task would train
# nonsense (CrossEntropyLoss over a single regression output is always 0).
LOSS_TASKS = {
    **dict.fromkeys(("CrossEntropyLoss", "NLLLoss"), "classification"),
    **dict.fromkeys(("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"), "regression"),
}

# SequentialLR and ChainedScheduler take nested specs: `schedulers: [{type: LinearLR, ...}, ...]`.
SCHEDULERS = _table(
    "torchlite.optim.lr_scheduler",
    "StepLR MultiStepLR ExponentialLR ConstantLR LinearLR PolynomialLR CosineAnnealingLR "
    "CosineAnnealingWarmRestarts CyclicLR OneCycleLR SequentialLR ChainedScheduler "
    "ReduceLROnPlateau",
)

# Real classes that a YAML file cannot configure, with the reason given to the user.
UNSUPPORTED = {
    "scheduler": {
        "LambdaLR": "LambdaLR needs a Python function, which a YAML config cannot hold; "
        "use a built-in schedule (LinearLR, PolynomialLR, ...) or a custom training script",
        "MultiplicativeLR": "MultiplicativeLR needs a Python function, which a YAML config "
        "cannot hold; use ExponentialLR for a constant factor",
    },
    "layer": {
        "Sequential": "a `sequential` model is already a Sequential: list its layers directly",
        "ModuleList": "containers cannot be built from YAML; use a `custom` model",
        "ModuleDict": "containers cannot be built from YAML; use a `custom` model",
    },
}

MODELS = {
    "mlp": "torchlite.training.models:mlp",
    "lenet5": "torchlite.training.models:lenet5",
    "resnet": "torchlite.training.models:resnet",
}

METRICS = {
    n: f"torchlite.training.metrics:{n}"
    for n in (
        "accuracy top_k_accuracy top5_accuracy f1_macro f1_weighted precision_macro "
        "precision_weighted recall_macro recall_weighted mse rmse mae r2"
    ).split()
}


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset name: its loader, its default task, where it comes from and its own options."""

    target: str
    task: str | None  # "classification" | "regression" | None (files: set data.task)
    source: str  # "builtin" (shipped or downloaded files), "file", "synthetic"
    options: frozenset = frozenset()
    has_test_split: bool = False  # True: test_split is not used (the dataset has its own)


DATASETS = {
    "digits": DatasetInfo("torchlite.datasets:digits", "classification", "builtin"),
    "mnist": DatasetInfo("torchlite.datasets:mnist", "classification", "builtin",
                         has_test_split=True),
    "fashion_mnist": DatasetInfo("torchlite.datasets:fashion_mnist", "classification",
                                 "builtin", has_test_split=True),
    "npz": DatasetInfo("torchlite.datasets:load_npz", None, "file",
                       frozenset({"x_key", "y_key"})),
    "npy": DatasetInfo("torchlite.datasets:load_npy", None, "file", frozenset({"targets_path"})),
    "csv": DatasetInfo("torchlite.datasets:load_csv", None, "file",
                       frozenset({"target", "delimiter", "header"})),
    "blobs": DatasetInfo("torchlite.datasets:blobs", "classification", "synthetic",
                         frozenset({"n_samples", "n_features", "n_classes", "cluster_std"})),
    "moons": DatasetInfo("torchlite.datasets:moons", "classification", "synthetic",
                         frozenset({"n_samples", "noise"})),
    "spirals": DatasetInfo("torchlite.datasets:spirals", "classification", "synthetic",
                           frozenset({"n_samples", "n_classes", "noise", "turns"})),
    "tokens": DatasetInfo("torchlite.datasets:tokens", "classification", "synthetic",
                          frozenset({"n_samples", "n_classes", "vocab_size", "seq_len"})),
    "regression": DatasetInfo("torchlite.datasets:regression", "regression", "synthetic",
                              frozenset({"n_samples", "n_features", "noise", "kind",
                                         "n_targets"})),
}

_KINDS: dict[str, dict] = {
    "layer": LAYERS,
    "activation": ACTIVATIONS,
    "loss": LOSSES,
    "optimizer": OPTIMIZERS,
    "scheduler": SCHEDULERS,
    "model": MODELS,
    "metric": METRICS,
    "dataset": {k: v.target for k, v in DATASETS.items()},
}


def names(kind: str) -> list[str]:
    """The names a config may use for `kind` (layer, activation, loss, optimizer, scheduler,
    model, metric, dataset)."""
    return list(_KINDS[kind])


def unknown_name_message(kind: str, name: Any) -> str:
    """Why `name` is not a valid `kind`, with a did-you-mean (or the reason it is unsupported)."""
    reason = UNSUPPORTED.get(kind, {}).get(name)
    if reason:
        return reason
    table = _KINDS[kind]
    other = next((k for k, t in [*_KINDS.items(), *UNSUPPORTED.items()]
                  if k not in (kind, "activation") and name in t), None)
    if other is not None:
        hint = f" ({name!r} is a {other}, not a {kind})"
    else:
        hint = did_you_mean(str(name), table)
        if not hint and len(table) <= 25:
            hint = "; expected one of: " + ", ".join(table)
    return f"unknown {kind} {str(name)!r}{hint}"


def check_name(kind: str, name: Any) -> str:
    """Return `name` if `kind` has it, else raise ValueError with a did-you-mean."""
    if not isinstance(name, str) or name not in _KINDS[kind]:
        raise ValueError(unknown_name_message(kind, name))
    return name


def resolve(kind: str, name: str) -> Any:
    """Import and return the object registered as `name` (e.g. resolve("layer", "Linear"))."""
    return import_object(_KINDS[kind][check_name(kind, name)])


def is_file_target(module_part: str) -> bool:
    """Whether a target's module part names a Python file (net.py, models/net.py) rather than an
    importable module (pkg.models)."""
    return module_part.endswith(".py") or "/" in module_part or "\\" in module_part


def import_module(module_part: str, base_dir: str | Path | None = None) -> Any:
    """Import a file (relative to `base_dir`, else CWD) or a module by name. A file is executed
    as a module: it is user code that the user named."""
    try:
        if is_file_target(module_part):
            return _import_file(Path(module_part), base_dir)
        return importlib.import_module(module_part)
    except RegistryError:
        raise
    except Exception as exc:  # the user's module failed while importing: say which and why
        raise RegistryError(f"cannot import {module_part!r}: {type(exc).__name__}: {exc}") from exc


def import_object(target: str, base_dir: str | Path | None = None) -> Any:
    """Import "package.module:attr" or "path/to/file.py:attr" (see import_module)."""
    module_part, sep, attr = target.rpartition(":")
    if not sep or not module_part or not attr:
        raise RegistryError(f"target {target!r} must look like 'pkg.module:Name' or 'file.py:Name'")
    module = import_module(module_part, base_dir)
    try:
        return getattr(module, attr)
    except AttributeError:
        public = [n for n in dir(module) if not n.startswith("_")]
        raise RegistryError(
            f"{module_part!r} has no attribute {attr!r}{did_you_mean(attr, public)}"
        ) from None


def _import_file(path: Path, base_dir) -> Any:
    candidates = [path] if path.is_absolute() else [Path(base_dir or ".") / path, Path.cwd() / path]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise RegistryError(f"model file not found: {path} (looked in "
                            + ", ".join(str(p.parent.resolve()) for p in candidates) + ")")
    found = found.resolve()
    digest = hashlib.sha1(str(found).encode()).hexdigest()[:12]
    mod_name = f"torchlite_user_{digest}_{found.stem}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, found)
    if spec is None or spec.loader is None:
        raise RegistryError(f"cannot import {found}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[mod_name]
        raise
    return module
