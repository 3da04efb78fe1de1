"""The schema of a training config (pydantic v2) and `load_config`.

Unknown keys are rejected everywhere except in the free-form argument mappings of layers, loss,
optimizer and scheduler (`{type: Linear, in_features: 64, ...}`): there the extra keys are the
class's constructor arguments, checked against its signature when the objects are built.
Names (layer, loss, optimizer, scheduler, dataset, metric, activation) are checked against the
tables in `registry`, with a did-you-mean.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    NonNegativeInt,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from . import registry
from .loader import ConfigError, ConfigProblem, SourceMap, apply_overrides, did_you_mean, load_yaml
from .metrics import metric_task
from .schema_errors import validation_problems
from .specs import (
    CustomModel,
    LayerSpec,
    LeNet5Model,
    LossConfig,
    MLPModel,
    ModelConfig,
    OptimizerConfig,
    ResNetModel,
    SchedulerConfig,
    SequentialModel,
    _named,
    _Strict,
)

__all__ = [
    "CheckpointConfig", "Config", "CustomModel", "DataConfig", "EarlyStoppingConfig",
    "LayerSpec", "LeNet5Model", "LossConfig", "MLPModel", "OptimizerConfig", "OutputConfig",
    "ResNetModel", "SchedulerConfig", "SequentialModel", "TrainerConfig", "load_config",
    "validate_config",
]

_DEFER = "defer_cross_checks"


def _metric(value: str) -> str:
    try:
        metric_task(value)
    except ValueError as exc:
        raise PydanticCustomError("unknown_name", "{message}", {"message": str(exc)}) from None
    return value


def _device(value: str) -> str:
    if re.fullmatch(r"auto|cpu|cuda|cuda:\d+", value):
        return value
    gpu = re.fullmatch(r"gpu(?::?(\d+))?", value.strip().lower())
    if gpu:
        hint = f"; did you mean 'cuda:{gpu[1]}'?" if gpu[1] else "; did you mean 'cuda'?"
    else:
        hint = did_you_mean(value, ["auto", "cpu", "cuda"])
    raise PydanticCustomError(
        "bad_device", "{message}",
        {"message": f"expected auto, cpu, cuda or cuda:N, got {value!r}{hint}"})


def _run_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,99}", value):
        raise PydanticCustomError("bad_name", "{message}", {"message": (
            f"{value!r} is not a usable folder name: use letters, digits, '.', '_' and '-' "
            "(no spaces or '/'), starting with a letter or digit, at most 100 characters")})
    return value


def _one_character(value: str) -> str:
    if len(value) != 1:  # the csv module takes exactly one character (else a TypeError later)
        raise PydanticCustomError("bad_argument", "{message}", {
            "message": f"must be one character (e.g. ',', ';' or '\\t'), got {value!r}",
            "key": ()})
    return value


def _default_mode(monitor: str) -> str:
    return "min" if re.search(r"(loss|mse|rmse|mae)$", monitor) else "max"


class DataConfig(_Strict):
    dataset: _named("dataset")
    path: str | None = Field(None, description="file or folder, relative to the config file's "
                              "folder (else the working directory); unset: $TORCHLITE_DATA")
    val_split: float = Field(0.1, ge=0, lt=1, description="fraction of the training data")
    test_split: float = Field(0.2, ge=0, lt=1, description="for datasets without a test split")
    batch_size: PositiveInt = 64
    eval_batch_size: PositiveInt | None = None
    shuffle: bool = True
    drop_last: bool = False
    normalize: Literal["auto", "none", "standard", "minmax", "global_standard",
                       "global_minmax"] = Field(
        "auto", description="fitted on the training split: standard (mean/std) or minmax "
        "(to [0, 1]) per feature, or global_* with one statistic over all values; auto: "
        "standard for tabular samples (one value per feature), none for images and sequences")
    stratify: bool = Field(True, description="keep class ratios in the splits "
                           "(classification only; ignored for regression)")
    task: Literal["classification", "regression"] | None = Field(
        None, description="default: the dataset's task (files: classification)")
    input_shape: list[PositiveInt] | None = Field(
        None, min_length=1, description="per-sample reshape, e.g. [1, 8, 8] for a CNN")
    num_workers: NonNegativeInt = 0
    x_key: str | None = Field(None, description="npz: inputs array name (default x)")
    y_key: str | None = Field(None, description="npz: targets array name (default y)")
    targets_path: str | None = Field(None, description="npy: .npy file of the targets")
    target: str | int | None = Field(None, description="csv: target column name or index "
                                     "(default: last column)")
    delimiter: Annotated[str, AfterValidator(_one_character)] | None = Field(
        None, description="csv: one character, default ','")
    header: bool | None = Field(None, description="csv: first row holds names (default true)")
    n_samples: PositiveInt | None = Field(None, description="synthetic datasets")
    n_features: PositiveInt | None = Field(None, description="blobs, regression")
    n_classes: Annotated[int, Field(ge=2)] | None = Field(None, description="blobs, spirals")
    cluster_std: Annotated[float, Field(ge=0)] | None = Field(None, description="blobs")
    noise: Annotated[float, Field(ge=0)] | None = Field(None, description="moons, spirals, "
                                                        "regression")
    turns: Annotated[float, Field(gt=0)] | None = Field(None, description="spirals")
    kind: Literal["linear", "nonlinear"] | None = Field(None, description="regression")
    n_targets: PositiveInt | None = Field(None, description="regression")
    vocab_size: PositiveInt | None = Field(None, description="tokens: ids in [0, vocab_size)")
    seq_len: PositiveInt | None = Field(None, description="tokens: ids per sample")
    input_dtype: Literal["auto", "float32", "int64"] = Field(
        "auto", description="int64: the inputs are token ids (for Embedding / EmbeddingBag), "
        "fed as integers and never normalised; auto: int64 for the tokens dataset, float32 "
        "otherwise")

    def normalize_for(self, sample_shape) -> str:
        """The normalisation applied to samples of `sample_shape` (`auto` resolved)."""
        if self.normalize != "auto":
            return self.normalize
        return "standard" if len(tuple(sample_shape)) == 1 else "none"

    @property
    def info(self) -> registry.DatasetInfo:
        return registry.DATASETS[self.dataset]

    @property
    def resolved_task(self) -> str:
        return self.task or self.info.task or "classification"

    @property
    def options(self) -> dict[str, Any]:
        """The dataset-specific options that were given (not None)."""
        fields = registry.DATASETS[self.dataset].options
        return {k: getattr(self, k) for k in sorted(fields) if getattr(self, k) is not None}


_OPTION_FIELDS = sorted(set().union(*(i.options for i in registry.DATASETS.values())))


class EarlyStoppingConfig(_Strict):
    monitor: str | None = Field(None, description="default val/loss (train/loss without val)")
    mode: Literal["min", "max"] | None = Field(None, description="default: min for losses and "
                                               "errors, max otherwise")
    patience: NonNegativeInt = Field(8, description="epochs in a row without improvement "
                                     "before the run stops")
    min_delta: float = Field(0.0, ge=0, description="smaller changes do not count as "
                             "improvement")


class CheckpointConfig(_Strict):
    monitor: str | None = Field(None, description="default val/loss (train/loss without val)")
    mode: Literal["min", "max"] | None = None
    save_every: PositiveInt | None = Field(None, description="also keep epoch_N weights")


class QuantizationConfig(_Strict):
    mode: Literal["qat"] = Field(..., description="qat: train with fake-quantized weights and "
                                 "activations, then write weights/quantized.safetensors (int8) "
                                 "from the final weights")
    per_channel: bool = Field(True, description="one weight scale per output channel")
    backend: Literal["x86", "fbgemm", "qnnpack"] = Field(
        "x86", description="the quantized engine whose default qconfig is used")
    fake_quant_start_epoch: NonNegativeInt = Field(
        0, description="epochs trained in float (observers watching) before fake quantization "
        "starts: QAT then fine-tunes a model that has already learned")


class TrainerConfig(_Strict):
    epochs: PositiveInt = 10
    grad_clip: Annotated[float, Field(gt=0)] | None = None
    grad_clip_algorithm: Literal["norm", "value"] = "norm"
    accumulate_grad_batches: PositiveInt = 1
    early_stopping: EarlyStoppingConfig | None = Field(
        default_factory=EarlyStoppingConfig, description="null: train every epoch")
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    final_weights: Literal["best", "last"] = "best"
    log_every_n_steps: PositiveInt = 50
    quantization: QuantizationConfig | None = Field(
        None, description="quantization-aware training (see `torchlite quantize` for int8 "
        "after training)")
    precision: Annotated[Literal["32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64"],
                         BeforeValidator(lambda v: str(v) if type(v) is int else v)] = Field(
        "32", description="Lightning's names: 32, 64, 16-mixed / bf16-mixed (autocast, float32 "
        "master weights; 16-mixed scales the loss), 16-true / bf16-true (low-precision weights)")


class OutputConfig(_Strict):
    root: str = "runs"
    plots: bool = Field(True, description="draw plots/ at the end of train and a picture "
                        "beside eval's report (needs matplotlib: pip install 'torchlite[plot]')")
    tensorboard: bool = Field(False, description="log every metric, the learning rate and "
                              "weight/gradient histograms per epoch into <run>/tensorboard/ "
                              "(needs tensorboardX: pip install 'torchlite[tensorboard]')")


class Config(_Strict):
    """A whole training config. `Config.model_json_schema()` is the editor schema."""

    name: Annotated[str, AfterValidator(_run_name)] = Field(
        "run", description="run folder name: letters, digits, '.', '_', '-'")
    seed: NonNegativeInt = 0
    device: Annotated[str, AfterValidator(_device)] = Field(
        "auto", description="auto | cpu | cuda | cuda:N")
    data: DataConfig
    model: ModelConfig
    loss: LossConfig
    optimizer: OptimizerConfig
    scheduler: SchedulerConfig | None = None
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    metrics: list[Annotated[str, AfterValidator(_metric)]] = Field(default_factory=list)
    output: OutputConfig = Field(default_factory=OutputConfig)
    _source: SourceMap = PrivateAttr(default_factory=SourceMap)

    @property
    def source(self) -> SourceMap:
        """Where each key came from (file lines, overrides): `cfg.source.problem(path, msg)`."""
        return self._source

    @property
    def has_val(self) -> bool:
        return self.data.val_split > 0

    def logged_names(self) -> list[str]:
        """Every name a monitor may use: train/loss, train/<metric>, and val/... with val data."""
        splits = ["train", "val"] if self.has_val else ["train"]
        return [f"{s}/{m}" for s in splits for m in ["loss", *self.metrics]]

    def metric_columns(self) -> list[str]:
        """The metrics.csv header for this config (see runs.metrics_header)."""
        from .runs import metrics_header

        return metrics_header(self.metrics, self.has_val)

    @model_validator(mode="after")
    def _resolve_and_check(self, info: ValidationInfo):
        default_monitor = "val/loss" if self.has_val else "train/loss"
        for section in (self.trainer.early_stopping, self.trainer.checkpoint):
            if section is not None:
                section.monitor = section.monitor or default_monitor
                section.mode = section.mode or _default_mode(section.monitor)
        if self.scheduler is not None and self.scheduler.type == "ReduceLROnPlateau":
            self.scheduler.monitor = self.scheduler.monitor or default_monitor
        if (info.context or {}).get(_DEFER):
            return self  # validate_config runs cross_check itself, to locate each problem
        problems = self.cross_check()
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        return self

    def cross_check(self) -> list[tuple[tuple, str]]:
        """Checks that span sections, as (key path, message) pairs."""
        out: list[tuple[tuple, str]] = []
        d, info = self.data, self.data.info
        if not info.has_test_split and d.val_split + d.test_split >= 1:
            out.append((("data", "test_split"), f"val_split + test_split must be < 1 "
                        f"(got {d.val_split} + {d.test_split})"))
        for key in _OPTION_FIELDS:
            if getattr(d, key) is not None and key not in info.options:
                users = [n for n, i in registry.DATASETS.items() if key in i.options]
                out.append((("data", key), f"only used by dataset {', '.join(users)}, "
                            f"not by {d.dataset!r}"))
        if info.source == "file" and not d.path:
            out.append((("data", "path"), f"dataset {d.dataset!r} reads a file: set data.path"))
        if d.dataset == "npy" and not d.targets_path:
            out.append((("data", "targets_path"), "dataset 'npy' reads the targets from a second "
                        "file: set data.targets_path to a .npy file of class labels or values"))
        # a file's task, unless given, is known only once the file is read (the trainer checks
        # the metrics against it then)
        task = d.task or info.task
        seen: dict[str, int] = {}
        for i, name in enumerate(self.metrics):
            if name in seen:
                out.append((("metrics", i), f"{name!r} is listed twice"))
            seen.setdefault(name, i)
            if task is not None and metric_task(name) != task:
                out.append((("metrics", i), f"{name!r} is a {metric_task(name)} metric but the "
                            f"task is {task} (dataset {d.dataset!r})"))
        monitors = [(("trainer", "early_stopping", "monitor"), self.trainer.early_stopping),
                    (("trainer", "checkpoint", "monitor"), self.trainer.checkpoint),
                    (("scheduler", "monitor"), self.scheduler)]
        logged = self.logged_names()
        for path, section in monitors:
            value = getattr(section, "monitor", None)
            if value is None or value in logged:
                continue
            if value.startswith("val/") and not self.has_val:
                msg = f"{value!r} needs validation data, but data.val_split is 0"
            else:
                hint = did_you_mean(value, logged)
                msg = f"{value!r} is not logged{hint} (logged: {', '.join(logged)}; list a " \
                      "metric under `metrics` to log it)"
            out.append((path, msg))
        if self.scheduler is not None and self.scheduler.type != "ReduceLROnPlateau" and \
                self.scheduler.monitor is not None:
            out.append((("scheduler", "monitor"), "only used by ReduceLROnPlateau"))
        return out


def validate_config(data: Any, source: SourceMap | None = None,
                    base_dir: str | Path | None = None) -> Config:
    """Validate plain data (from YAML, a checkpoint's metadata, ...) into a Config.

    Raises ConfigError with every problem, each located through `source` (file:line or override).
    A custom model's file target, data.path and data.targets_path are resolved to absolute paths
    (relative to `base_dir`, the config file's folder, first, then to the working directory) so
    the resolved config works from anywhere.
    """
    source = source or SourceMap()
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise ConfigError([source.problem((), "the config must be a mapping of sections "
                                          f"(name, data, model, ...), got {kind}")])
    try:
        cfg = Config.model_validate(data, context={_DEFER: True})
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, data, source, Config)) from None
    problems = [source.problem(path, msg) for path, msg in cfg.cross_check()]
    if base_dir is not None:
        _resolve_data_paths(cfg.data, Path(base_dir))
    if isinstance(cfg.model, CustomModel):
        problem = _resolve_target(cfg.model, base_dir, source)
        if problem:
            problems.append(problem)
    if problems:
        raise ConfigError(problems)
    cfg._source = source
    return cfg


def _resolve_data_paths(data: DataConfig, base_dir: Path) -> None:
    """data.path and data.targets_path, when relative, are looked up as model.target is: in the
    config file's folder first, then in the working directory. A path found in neither stays as
    written (the dataset's loader says it is missing)."""
    for key in ("path", "targets_path"):
        value = getattr(data, key)
        if not value or Path(value).is_absolute():
            continue
        for base in (base_dir, Path.cwd()):
            if (base / value).exists():
                setattr(data, key, str((base / value).resolve()))
                break


def _resolve_target(model: CustomModel, base_dir, source: SourceMap) -> ConfigProblem | None:
    file_part, _, cls = model.target.rpartition(":")
    if not registry.is_file_target(file_part):
        return None  # a module path: imported when the model is built
    p = Path(file_part)
    candidates = [p] if p.is_absolute() else [Path(base_dir or "."), Path.cwd()]
    if not p.is_absolute():
        candidates = [c / p for c in candidates]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        where = ", ".join(dict.fromkeys(str(c.parent.resolve()) for c in candidates))
        return source.problem(("model", "target"), f"file not found: {file_part} (looked in "
                              f"{where})")
    model.target = f"{found.resolve()}:{cls}"
    return None


def load_config(path: str | Path, overrides=()) -> tuple[Config, dict]:
    """Read, override and validate a config file: (Config, raw data after overrides).

    Every problem (YAML syntax, duplicate keys, tags, bad overrides, schema errors, cross-section
    checks) is raised as one ConfigError, each line `file:line: key.path: message`. A missing
    `name` defaults to the file's stem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), None, "", "config file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([ConfigProblem(str(path), None, "", "is a folder, not a config file")
                           ]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"not UTF-8 text ({exc.reason} at "
                                         f"byte {exc.start})")]) from None
    data, source = load_yaml(text, str(path))
    if data is None:
        raise ConfigError([ConfigProblem(str(path), None, "", "config file is empty")])
    if isinstance(data, dict):
        apply_overrides(data, overrides, source)
        if "name" not in data:
            data["name"] = re.sub(r"[^A-Za-z0-9._\-]", "_", path.stem).lstrip("._-") or "run"
    return validate_config(data, source, path.parent), data
