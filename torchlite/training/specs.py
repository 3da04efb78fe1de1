"""The `{type: Name, **kwargs}` sections (layers, loss, optimizer, scheduler) and the model forms.

Extra keys in a spec are the class's constructor arguments, checked against its signature when the
objects are built; the `type` names are checked here against the tables in `registry`.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt, model_validator
from pydantic_core import PydanticCustomError

from . import registry

__all__ = [
    "CustomModel", "LayerSpec", "LeNet5Model", "LossConfig", "MLPModel", "ModelConfig",
    "OptimizerConfig", "ResNetModel", "SchedulerConfig", "SequentialModel",
]


def _named(kind: str):
    """A str field whose value must be a name of `kind` in the registry (enum in JSON Schema)."""

    def check(value: str) -> str:
        try:
            return registry.check_name(kind, value)
        except ValueError as exc:
            raise PydanticCustomError("unknown_name", "{message}", {"message": str(exc)}) from None

    enum = Field(json_schema_extra={"enum": registry.names(kind)})
    return Annotated[str, AfterValidator(check), enum]


def _target(value: str) -> str:
    if not re.fullmatch(r"[^:\s]+:[A-Za-z_][A-Za-z0-9_]*", value):
        raise PydanticCustomError("bad_target", "{message}", {"message": (
            f"expected 'path/to/file.py:ClassName' or 'package.module:ClassName', got {value!r}")})
    return value


def _bad_argument(key: str, message: str) -> PydanticCustomError:
    """An error about one free-form argument: located at the argument's own key."""
    return PydanticCustomError("bad_argument", "{message}", {"message": message, "key": key})


# strict: YAML already gives ints, floats and bools their own types, so a string "64", a `true`
# for a count or a "no" for a bool is a mistake to report, not a value to coerce. An int is still
# accepted where a float is expected. allow_inf_nan=False: `.inf`/`.nan` are never meant.
_SCHEMA_RULES = ConfigDict(strict=True, allow_inf_nan=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", **_SCHEMA_RULES)


def _non_finite(value: Any) -> bool:
    """Whether `value` (a number, or a list/mapping of them) holds an Inf or NaN anywhere."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


class _Spec(BaseModel):
    """`{type: Name, **kwargs}`: extra keys are the constructor's keyword arguments."""

    model_config = ConfigDict(extra="allow", **_SCHEMA_RULES)

    @property
    def kwargs(self) -> dict[str, Any]:
        """The constructor arguments (every key but `type` and the section's own keys)."""
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _identifiers(self):
        bad = [k for k in self.model_extra or {} if not str(k).isidentifier()]
        if bad:
            raise _bad_argument(bad[0], f"{bad[0]!r} is not a valid argument name")
        for key, value in (self.model_extra or {}).items():
            if _non_finite(value):  # an infinite lr or eps only shows up as a NaN loss later
                raise _bad_argument(key, f"must be finite, got {value!r}")
        return self


class LayerSpec(_Spec):
    type: _named("layer")


class LossConfig(_Spec):
    type: _named("loss")


class OptimizerConfig(_Spec):
    type: _named("optimizer")

    @model_validator(mode="after")
    def _lr(self):
        lr = (self.model_extra or {}).get("lr")
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))
                               or not lr >= 0):
            raise _bad_argument("lr", f"lr must be a number >= 0, got {lr!r}")
        return self


class SchedulerConfig(_Spec):
    type: _named("scheduler")
    interval: Literal["epoch", "step"] | None = Field(
        None, description="when to call step(): per epoch or per optimizer step "
        "(default: step for OneCycleLR and CyclicLR, epoch otherwise)")
    monitor: str | None = Field(None, description="ReduceLROnPlateau only (default val/loss)")

    @model_validator(mode="after")
    def _defaults(self):
        if self.interval is None:
            self.interval = "step" if self.type in ("OneCycleLR", "CyclicLR") else "epoch"
        if self.type == "ReduceLROnPlateau" and self.interval == "step":
            raise _bad_argument("interval", "ReduceLROnPlateau is stepped with the monitored "
                                "metric once per epoch: use interval: epoch")
        problem = _scheduler_problem(self.type, self.kwargs)
        if problem:
            raise _bad_argument(*problem)
        return self


# Integer arguments of the schedulers and their minimum. The schedulers themselves divide by
# (or take a modulo of) most of these without checking, which would crash in the middle of a
# run (ZeroDivisionError) instead of naming the key here.
_SCHEDULER_INTS: dict[str, dict[str, int]] = {
    "StepLR": {"step_size": 1},
    "CosineAnnealingLR": {"T_max": 1},
    "CosineAnnealingWarmRestarts": {"T_0": 1, "T_mult": 1},
    "PolynomialLR": {"total_iters": 1},
    "LinearLR": {"total_iters": 1},
    "ConstantLR": {"total_iters": 0},
    "CyclicLR": {"step_size_up": 1, "step_size_down": 0},
    "OneCycleLR": {"total_steps": 1, "epochs": 1, "steps_per_epoch": 1},
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scheduler_problem(name: Any, kwargs: dict) -> tuple[Any, str] | None:
    """(key, message) for the first bad integer argument of scheduler `name`, nested
    `schedulers: [...]` included (key then a tuple path), else None."""
    for key, low in _SCHEDULER_INTS.get(name, {}).items():
        value = kwargs.get(key)
        if value is not None and not (_is_int(value) and value >= low):
            return key, f"must be an integer >= {low}, got {value!r}"
    milestones = kwargs.get("milestones") if name in ("MultiStepLR", "SequentialLR") else None
    if milestones is not None and not (isinstance(milestones, list) and all(
            _is_int(m) and m >= 1 for m in milestones)):
        return "milestones", f"must be a list of integers >= 1, got {milestones!r}"
    children = kwargs.get("schedulers")
    if name in ("SequentialLR", "ChainedScheduler") and isinstance(children, list):
        for i, child in enumerate(children):
            if isinstance(child, dict):
                rest = {k: v for k, v in child.items() if k != "type"}
                problem = _scheduler_problem(child.get("type"), rest)
                if problem:
                    key, message = problem
                    return ("schedulers", i, *(key if isinstance(key, tuple) else (key,))), \
                        message
    return None


class SequentialModel(_Strict):
    type: Literal["sequential"]
    layers: list[LayerSpec] = Field(min_length=1)


class CustomModel(_Strict):
    type: Literal["custom"]
    target: Annotated[str, AfterValidator(_target)] = Field(
        description="'path/to/file.py:ClassName' or 'package.module:ClassName'")
    args: dict[str, Any] = Field(default_factory=dict)


class MLPModel(_Strict):
    type: Literal["mlp"]
    in_features: PositiveInt | None = Field(None, description="default: from the data")
    hidden: list[PositiveInt] = Field(default_factory=lambda: [128])
    out_features: PositiveInt | None = Field(None, description="default: classes or targets")
    activation: _named("activation") = "ReLU"
    dropout: float = Field(0.0, ge=0, lt=1)
    batch_norm: bool = False


class LeNet5Model(_Strict):
    type: Literal["lenet5"]
    in_channels: PositiveInt | None = Field(None, description="default: from the data")
    num_classes: PositiveInt | None = Field(None, description="default: from the data")
    activation: _named("activation") = "ReLU"
    dropout: float = Field(0.0, ge=0, lt=1)


class ResNetModel(_Strict):
    type: Literal["resnet"]
    in_channels: PositiveInt | None = Field(None, description="default: from the data")
    num_classes: PositiveInt | None = Field(None, description="default: from the data")
    widths: list[PositiveInt] = Field(default_factory=lambda: [16, 32, 64], min_length=1)
    blocks: list[PositiveInt] = Field(default_factory=lambda: [1, 1, 1], min_length=1)

    @model_validator(mode="after")
    def _same_length(self):
        if len(self.widths) != len(self.blocks):
            raise ValueError(f"widths ({len(self.widths)} stages) and blocks "
                             f"({len(self.blocks)} stages) must have the same length")
        return self


ModelConfig = Annotated[
    SequentialModel | CustomModel | MLPModel | LeNet5Model | ResNetModel,
    Field(discriminator="type"),
]
