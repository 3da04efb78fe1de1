"""Rebuilding a model from a checkpoint for eval, infer and summary: the metadata checked (a
broken file is a clear CheckpointError, not a KeyError deep inside), the model built from the
stored config, and a custom model's own failures named as coming from its code (train and
validate name them the same way, through checked_build / checked_forward).

A checkpoint never makes torchlite run code: a custom model is rebuilt from code the user names
(`model_code`), or from the stored target only when the user says it trusts it.
"""

from __future__ import annotations

import math
from pathlib import Path

import torchlite
from torchlite import _filekind
from torchlite.errors import UntrustedModelCodeError, UserModelError
from torchlite.serialization import CheckpointError

from . import checkpoint as ckpt
from . import registry
from .build import build_model, transform_from_state
from .config import Config, validate_config
from .loader import ConfigError, UsageError

# the errors that are never blamed on a user's model code: running out of memory is not a bug
_NOT_USER_ERRORS = (MemoryError, torchlite.OutOfMemoryError)


def _user_model_error(cfg: Config, where: str, exc: BaseException) -> UserModelError:
    return UserModelError(f"the custom model {cfg.model.target} failed in its own code "
                          f"({where}): {type(exc).__name__}: {exc}")


def config_model_error(cfg: Config, exc: UserModelError, detail: str = "") -> ConfigError:
    """`exc` for train and validate: there the failing model is the one the config names
    (model.target), whose code the user is writing, so it is a config error (exit 2), located
    at that key, as any other model that does not fit its config or data. For eval, infer and
    summary it stays a UserModelError (exit 3): there the model comes with a checkpoint."""
    return ConfigError([cfg.source.problem(("model", "target"), f"{exc}{detail}")])


def checked_build(cfg: Config, data):
    """build_model, with an exception raised by a custom model's constructor named as such."""
    from .registry import RegistryError

    try:
        return build_model(cfg, data)
    except (ConfigError, RegistryError, *_NOT_USER_ERRORS):
        raise
    except Exception as exc:
        if cfg.model.type != "custom":
            raise
        raise _user_model_error(cfg, "__init__", exc) from exc


def checked_forward(model, x, cfg: Config):
    """model(x); a custom model's exception, or an output that is not a Tensor with one row
    per sample, is reported as coming from that model's code."""
    if cfg.model.type != "custom":
        return model(x)
    try:
        out = model(x)
    except _NOT_USER_ERRORS:
        raise
    except Exception as exc:
        raise _user_model_error(cfg, "forward", exc) from exc
    if not isinstance(out, torchlite.Tensor):
        raise UserModelError(f"the custom model {cfg.model.target}: forward returned "
                             f"{type(out).__name__}, expected a Tensor")
    if out.ndim == 0 or out.shape[0] != x.shape[0]:
        raise UserModelError(f"the custom model {cfg.model.target}: forward returned shape "
                             f"{list(out.shape)} for a batch of {x.shape[0]}, expected one row "
                             "per sample")
    return out


# ----------------------------------------------------------------------------------------------
# checkpoint metadata


def _malformed(path, what: str) -> CheckpointError:
    return CheckpointError(f"{path}: checkpoint metadata is malformed: {what}")


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _preprocess_problem(pre: dict) -> str | None:
    """What is wrong with a checkpoint's `preprocess` entry (the parts eval/infer/summary
    read), or None."""
    task = pre.get("task")
    if task not in ("classification", "regression"):
        return f"task is {task!r}, expected 'classification' or 'regression'"
    for key in ("raw_shape", "input_shape"):
        if key not in pre:
            return f"{key} is missing"
        if not isinstance(pre[key], list) or not all(map(_positive_int, pre[key])):
            return f"{key} is {pre[key]!r}, expected a list of positive integers"
    n, classes = pre.get("num_classes"), pre.get("classes")
    if task == "classification" and not _positive_int(n):
        return f"num_classes is {n!r}, expected a positive integer"
    if task == "classification" and classes is not None and (
            not isinstance(classes, list) or len(classes) != n
            or not all(isinstance(c, (str, int)) for c in classes)):
        return f"classes is {str(classes)[:80]}, expected a list of {n} names"
    names = pre.get("feature_names")
    if names is not None and (not isinstance(names, list)
                              or not all(isinstance(c, str) for c in names)):
        return f"feature_names is {str(names)[:80]}, expected a list of column names"
    if pre.get("target_name") is not None and not isinstance(pre["target_name"], str):
        return f"target_name is {str(pre['target_name'])[:80]}, expected a column name"
    if pre.get("targets_dim") is not None and not _positive_int(pre["targets_dim"]):
        return f"targets_dim is {pre['targets_dim']!r}, expected a positive integer"
    if pre.get("transform") is not None and not isinstance(pre["transform"], dict):
        return "transform is not a mapping"
    return None


def checkpoint_info(path) -> dict:
    """ckpt.read_checkpoint_info, with the structure eval/infer/summary rely on checked, so
    broken metadata is a clear CheckpointError rather than a KeyError deep inside."""
    try:
        info = ckpt.read_checkpoint_info(path)
    except (AttributeError, TypeError):  # the JSON parsed, but to a list, string or number
        raise _malformed(path, "expected a JSON object") from None
    problem = _preprocess_problem(info["preprocess"])
    if problem:
        raise _malformed(path, f"preprocess.{problem}")
    return info


def input_transform(path, pre: dict):
    try:
        return transform_from_state(pre.get("transform"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _malformed(path, f"preprocess.transform cannot be rebuilt "
                               f"({type(exc).__name__}: {exc})") from None


def _custom_model_code(path, stored: dict, model_code: str | None, trust: bool) -> None:
    """Decide which code rebuilds a checkpoint's custom model, before anything is imported.

    A checkpoint is data that may come from anyone. Its stored config names a class, never code
    to run: the code is the file or module the user names (`model_code`, "net.py",
    "net.py:Net" or "pkg.module:Net"), or, only with `trust`, the target stored at training
    time. Built-in models come from the fixed registry tables and need neither.
    """
    model = stored.get("model")
    if not isinstance(model, dict) or model.get("type") != "custom":
        return  # not custom, or malformed: validate_config says what is wrong
    target = str(model.get("target", ""))
    stored_code, _, cls = target.rpartition(":")
    if model_code is None:
        if trust:
            return
        raise UntrustedModelCodeError(
            f"{path}: the checkpoint's model is custom code (class {cls or '?'} from "
            f"{_shorten(stored_code or target)}); torchlite never runs code that a checkpoint "
            "names: pass --model-code FILE.py (the file that defines the class) or, if you "
            "trust where this checkpoint came from, --trust-model-code")
    code, sep, own_cls = model_code.rpartition(":")
    if not sep or not code or not own_cls.isidentifier():
        code, own_cls = model_code, ""  # no class given ("C:\\net.py" has a drive, no class)
    if registry.is_file_target(code) and not Path(code).is_file():
        raise UsageError(f"--model-code {code}: no such file")
    if not own_cls:  # the checkpoint picks the class: only one that the user's code defines
        _check_stored_class(path, code, cls, target)
    model["target"] = f"{code}:{own_cls or cls}"


def _check_stored_class(path, code: str, cls: str, target: str) -> None:
    """The class a checkpoint names must be a public class defined in the user's `code` itself,
    not something it imports (any nn.Module of another package) nor a name a module-level
    __getattr__ would answer: the checkpoint picks the class, the user's code is what runs."""
    if not cls.isidentifier() or cls.startswith("_"):
        raise CheckpointError(f"{path}: checkpoint metadata is malformed: model.target "
                              f"{_shorten(target)!r} names no public class")
    module = registry.import_module(code)  # the code the user named
    obj = vars(module).get(cls)
    if not (isinstance(obj, type) and obj.__module__ == module.__name__):
        raise CheckpointError(
            f"{path}: the checkpoint's model is class {cls}, which {code} does not define; "
            f"pass --model-code {code}:CLASS to choose the class")


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def model_from_checkpoint(path, device: str, *, model_code: str | None = None,
                          trust_model_code: bool = False):
    """Rebuild a checkpoint's model from its stored config and load its weights.

    A custom model is rebuilt only from code the caller names: `model_code` (a file or module,
    optionally with ":Class"; the class defaults to the one stored), or the stored target when
    `trust_model_code` is set. Without either, UntrustedModelCodeError: a checkpoint never
    makes torchlite import anything. The class must be an nn.Module subclass before anything
    is called. An exported .onnx file runs in ONNX Runtime (training/export.py).
    """
    if Path(path).suffix.lower() == ".onnx" and _filekind.sniff(path) == "onnx":
        from .export import model_from_onnx

        return model_from_onnx(Path(path), device)
    info = checkpoint_info(path)
    _custom_model_code(path, info["config"], model_code, trust_model_code)
    try:
        cfg = validate_config(info["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: the config stored in the checkpoint is invalid: {exc}") \
            from None
    from .build import DataBundle
    from .prepare import prepare

    pre = info["preprocess"]
    data = DataBundle(None, None, None, pre["task"], pre.get("num_classes"), pre.get("classes"),
                      tuple(pre["input_shape"]), tuple(pre["raw_shape"]), None, pre)
    for key in ("raw_shape", "input_shape"):
        check_batch_size(path, 1, pre[key], f"preprocess.{key}")
    _check_model_fits(path, cfg, data)
    model = prepare(cfg, upto="model", device="cpu", data=data, checkpoint=path).model
    if "quantization" in info or cfg.trainer.quantization is not None:
        from .quantize import restore_structure  # int8, or the fake-quantized model of QAT

        model = restore_structure(model, cfg, info)
    state = torchlite.load(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: the weights do not fit the model in its config: "
                              f"{_misfit(model.state_dict(), state) or exc}") from None
    model.to(device).eval()
    return model, cfg, info


# The most values a checkpoint's metadata may make torchlite allocate for made-up inputs (a
# sample of preprocess.input_shape for summary, a batch of them for graph) or for rebuilding a
# synthetic dataset for eval: 256 MiB as float32, far beyond the models and data torchlite
# trains on, far below what exhausts a machine. A crafted file asking for more is refused.
MAX_VALUES = 1 << 26


def check_batch_size(path, n: int, sample_shape, what: str, fix: str = "") -> None:
    """Refuse (CheckpointError) `n` samples of `sample_shape`, as `what` in `path` describes
    them, when they would hold more than MAX_VALUES values."""
    values = n * math.prod(sample_shape)
    if values > MAX_VALUES:
        batch = f"{n:,} samples of shape {list(sample_shape)}" if n > 1 else \
            f"samples of shape {list(sample_shape)}"
        raise CheckpointError(f"{path}: {what} asks for {batch}, {values:,} values, more than "
                              f"torchlite allocates for a checkpoint ({MAX_VALUES:,}){fix}")


def _check_model_fits(path, cfg: Config, data) -> None:
    """Refuse, before any weight is allocated, a stored config whose model holds more values
    than the checkpoint's tensors: the model is built once with deferred storage (shapes only,
    nothing allocated or initialised) and its state_dict compared with the file's header.

    A model that cannot be built that way (custom code that writes into its own weights in
    __init__, or a config the real build rejects with its own message) is not checked here;
    tensors a custom model makes itself (torchlite.zeros, randn, ...) are allocated even here:
    only the layers' own storage is deferred. Custom code runs twice (here and for real).
    """
    from torchlite.nn._deferred import deferred_storage
    from torchlite.serialization import read_header

    try:
        with deferred_storage():
            want = build_model(cfg, data).state_dict()
    except Exception:  # the real build, next, reports it as it always has
        return
    have = {t.name: t for t in read_header(path).tensors}
    n_want = sum(math.prod(t.shape) for t in want.values())
    n_have = sum(math.prod(t.shape) for t in have.values())
    if n_want > n_have:  # worded as the load below words a misfit
        detail = _misfit(want, have) or (f"its config describes {n_want:,} values, the "
                                         f"checkpoint holds {n_have:,}")
        raise CheckpointError(f"{path}: the weights do not fit the model in its config: "
                              f"{detail}")


def check_stored_dataset(path, cfg: Config) -> None:
    """Refuse to rebuild a checkpoint's synthetic dataset (eval without --data) whose stored
    options ask for more than MAX_VALUES values: the sizes come from the file, so a crafted one
    could ask for any amount. The real data files a config names are read as they are."""
    import inspect

    info = registry.DATASETS.get(cfg.data.dataset)
    if info is None or info.source != "synthetic":
        return
    defaults = {k: p.default for k, p in
                inspect.signature(registry.import_object(info.target)).parameters.items()}
    opts = {**defaults, **cfg.data.options}
    n, d = opts["n_samples"], opts.get("n_features", 2)
    k = opts.get("n_classes", opts.get("centers", 2))
    k = k if isinstance(k, int) else 2
    values = n * (d + opts.get("n_targets", 1) + 1) + k * d  # inputs, targets, labels, centres
    if values > MAX_VALUES:
        given = ", ".join(f"{key}: {v}" for key, v in cfg.data.options.items())
        raise CheckpointError(f"{path}: its config's dataset {cfg.data.dataset} ({given}) "
                              f"would hold {values:,} values, more than torchlite rebuilds for "
                              f"a checkpoint ({MAX_VALUES:,}); evaluate it on a file with "
                              "--data")


def _misfit(want: dict, have: dict) -> str:
    """load_state_dict's several-line report as one line: the names missing, unexpected, or of
    another shape, the first few of each with both shapes."""

    def some(names, show=lambda n: n) -> str:
        names = list(names)
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        return ", ".join(show(n) for n in names[:3]) + more

    shape = [k for k in want if k in have and tuple(want[k].shape) != tuple(have[k].shape)]
    parts = []
    if shape:
        parts.append("shapes differ for " + some(
            shape, lambda k: f"{k} (checkpoint {list(have[k].shape)}, model "
                             f"{list(want[k].shape)})"))
    if missing := [k for k in want if k not in have]:
        parts.append("missing from the checkpoint: " + some(missing))
    if unexpected := [k for k in have if k not in want]:
        parts.append("not in the model: " + some(unexpected))
    return "; ".join(parts)


def nonfinite_weights(model) -> str | None:
    """The name of the first parameter or buffer of `model` holding NaN or Inf, or None."""
    for name, t in model.state_dict().items():
        if t.dtype.is_floating_point and not bool(torchlite.isfinite(t).all()):
            return name
    return None
