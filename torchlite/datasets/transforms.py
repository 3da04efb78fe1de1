"""Transforms for array data: fitted on the training split, applied to batches, saved as JSON.

Every transform takes a NumPy array with a leading batch axis and returns a new array (inputs
come out float32). Statistics are fitted with `fit(train_inputs)` on the training split only and
then applied unchanged to validation, test and inference data. `state_dict()` returns plain
Python values (lists, floats, ints, strings) that survive `json.dumps`, so a checkpoint can keep
them in its metadata; `transform_from_state(state)` rebuilds any transform from its state.

These live in `torchlite.datasets` (next to the loaders whose arrays they process, like
torchvision's transforms beside its datasets), not in `torchlite.utils.data`, which keeps
PyTorch's API surface and knows nothing of array preprocessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import DatasetError


class Transform:
    """Base class: `fit(x)` (a no-op unless the transform has statistics), `__call__(x)`,
    `state_dict()` and `load_state_dict(state)`."""

    def fit(self, x: np.ndarray) -> Transform:
        return self

    @property
    def fitted(self) -> bool:
        return True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _check_type(state, type(self).__name__)

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__}: call fit(train_inputs) before using it")


def _check_type(state, name: str) -> None:
    if not isinstance(state, dict) or state.get("type") != name:
        got = state.get("type") if isinstance(state, dict) else type(state).__name__
        raise DatasetError(
            f"{name}.load_state_dict: expected a state of type {name!r}, got {got!r}"
        )


def _floats(value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{what} must be numbers, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise DatasetError(f"{what} must be finite, got {value!r}")
    return arr


def _as_list(arr: np.ndarray):
    return arr.tolist() if arr.ndim else float(arr)


def _safe_std(std: np.ndarray, eps: float) -> np.ndarray:
    # a constant feature would divide by ~0; leave it centred instead of blowing it up
    return np.where(std < eps, 1.0, std)


class Normalize(Transform):
    """`(x - mean) / std` with one global mean/std or one per channel (axis `channel_axis`).

    Give `mean` and `std` explicitly (as torchvision's Normalize) or leave them None and `fit`
    them on training inputs. A standard deviation below `eps` is replaced by 1.

    Shape: (N, C, ...) -> same shape, float32.
    """

    def __init__(
        self,
        mean: float | Sequence[float] | None = None,
        std: float | Sequence[float] | None = None,
        *,
        per_channel: bool = False,
        channel_axis: int = 1,
        eps: float = 1e-7,
    ) -> None:
        if (mean is None) != (std is None):
            raise ValueError("Normalize: give both mean and std, or neither (then call fit)")
        self.per_channel = bool(per_channel)
        self.channel_axis = int(channel_axis)
        self.eps = float(eps)
        self.mean = None if mean is None else _floats(mean, "Normalize: mean")
        self.std = None if std is None else _floats(std, "Normalize: std")
        if self.std is not None and np.any(self.std <= 0):
            raise ValueError("Normalize: std must be positive")
        if self.mean is not None and (self.mean.shape != self.std.shape or self.mean.ndim > 1):
            raise ValueError(
                "Normalize: mean and std must be two numbers or two equal-length lists"
            )
        if self.mean is not None and self.mean.ndim:
            self.per_channel = True

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def fit(self, x: np.ndarray) -> Normalize:
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            raise DatasetError("Normalize.fit: no data")
        if self.per_channel:
            ax = self.channel_axis % x.ndim
            axes = tuple(i for i in range(x.ndim) if i != ax)
            self.mean, std = x.mean(axis=axes), x.std(axis=axes)
        else:
            self.mean, std = np.asarray(x.mean()), np.asarray(x.std())
        self.std = _safe_std(std, self.eps)
        return self

    def _broadcast(self, stats: np.ndarray, x: np.ndarray) -> np.ndarray:
        s = stats.astype(np.float32)
        if s.ndim == 0:
            return s
        ax = self.channel_axis % x.ndim
        if x.shape[ax] != s.shape[0]:
            raise ValueError(
                f"Normalize: fitted for {s.shape[0]} channels, got {x.shape[ax]} on axis {ax} "
                f"of an input of shape {x.shape}"
            )
        shape = [1] * x.ndim
        shape[ax] = s.shape[0]
        return s.reshape(shape)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._require_fitted()
        x = np.asarray(x, dtype=np.float32)
        return (x - self._broadcast(self.mean, x)) / self._broadcast(self.std, x)

    def state_dict(self) -> dict[str, Any]:
        self._require_fitted()
        return {
            "type": "Normalize",
            "per_channel": self.per_channel,
            "channel_axis": self.channel_axis,
            "eps": self.eps,
            "mean": _as_list(self.mean),
            "std": _as_list(self.std),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _check_type(state, "Normalize")
        try:
            mean = _floats(state["mean"], "Normalize: mean")
            std = _floats(state["std"], "Normalize: std")
            per_channel = bool(state["per_channel"])
            channel_axis, eps = int(state["channel_axis"]), float(state["eps"])
        except KeyError as exc:
            raise DatasetError(f"Normalize.load_state_dict: missing key {exc}") from None
        if mean.shape != std.shape or mean.ndim > 1 or np.any(std <= 0):
            raise DatasetError("Normalize.load_state_dict: inconsistent mean/std")
        self.mean, self.std = mean, std
        self.per_channel, self.channel_axis, self.eps = per_channel, channel_axis, eps


class Standardize(Transform):
    """Per-feature z-score: every input position gets its own mean and std (over the batch axis),
    as scikit-learn's StandardScaler. A standard deviation below `eps` is replaced by 1.

    Shape: (N, *F) -> same shape, float32.
    """

    def __init__(self, *, eps: float = 1e-7) -> None:
        self.eps = float(eps)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def fit(self, x: np.ndarray) -> Standardize:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or x.shape[0] == 0:
            raise DatasetError("Standardize.fit: no data")
        self.mean = x.mean(axis=0)
        self.std = _safe_std(x.std(axis=0), self.eps)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._require_fitted()
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != self.mean.shape:
            raise ValueError(
                f"Standardize: fitted for samples of shape {self.mean.shape}, got {x.shape[1:]}"
            )
        with np.errstate(over="ignore"):  # inputs near float32's limit: inf, then a NaN loss
            return (x - self.mean.astype(np.float32)) / self.std.astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        self._require_fitted()
        return {
            "type": "Standardize",
            "eps": self.eps,
            "shape": list(self.mean.shape),
            "mean": _as_list(self.mean),
            "std": _as_list(self.std),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _check_type(state, "Standardize")
        try:
            shape = tuple(int(s) for s in state["shape"])
            mean = _floats(state["mean"], "Standardize: mean").reshape(shape)
            std = _floats(state["std"], "Standardize: std").reshape(shape)
            eps = float(state["eps"])
        except KeyError as exc:
            raise DatasetError(f"Standardize.load_state_dict: missing key {exc}") from None
        except ValueError as exc:
            raise DatasetError(f"Standardize.load_state_dict: {exc}") from None
        if np.any(std <= 0):
            raise DatasetError("Standardize.load_state_dict: std must be positive")
        self.mean, self.std, self.eps = mean, std, eps


class OneHot(Transform):
    """Class labels (N,) -> one-hot float32 (N, num_classes); `fit` can infer num_classes.

    Shape: (N,) -> (N, num_classes).
    """

    def __init__(self, num_classes: int | None = None) -> None:
        if num_classes is not None and int(num_classes) < 1:
            raise ValueError(f"OneHot: num_classes must be positive, got {num_classes}")
        self.num_classes = None if num_classes is None else int(num_classes)

    @property
    def fitted(self) -> bool:
        return self.num_classes is not None

    def fit(self, y: np.ndarray) -> OneHot:
        y = np.asarray(y)
        if y.size == 0:
            raise DatasetError("OneHot.fit: no labels")
        self.num_classes = int(y.max()) + 1
        return self

    def __call__(self, y: np.ndarray) -> np.ndarray:
        self._require_fitted()
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise ValueError(f"OneHot: expected 1-D integer labels, got {y.dtype} {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(
                f"OneHot: labels must be in 0..{self.num_classes - 1}, got "
                f"{int(y.min())}..{int(y.max())}"
            )
        out = np.zeros((y.shape[0], self.num_classes), dtype=np.float32)
        out[np.arange(y.shape[0]), y] = 1.0
        return out

    def state_dict(self) -> dict[str, Any]:
        self._require_fitted()
        return {"type": "OneHot", "num_classes": self.num_classes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _check_type(state, "OneHot")
        n = state.get("num_classes")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise DatasetError(f"OneHot.load_state_dict: bad num_classes {n!r}")
        self.num_classes = n


class Reshape(Transform):
    """Reshape every sample to `shape` (one entry may be -1), keeping the batch axis.

    Shape: (N, *in) -> (N, *shape).
    """

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(int(s) for s in shape)
        if sum(s == -1 for s in self.shape) > 1 or any(s < -1 for s in self.shape):
            raise ValueError(f"Reshape: invalid shape {self.shape}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        try:
            return x.reshape((x.shape[0], *self.shape))
        except ValueError:
            raise ValueError(
                f"Reshape: cannot reshape samples of shape {x.shape[1:]} to {self.shape}"
            ) from None

    def state_dict(self) -> dict[str, Any]:
        return {"type": "Reshape", "shape": list(self.shape)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _check_type(state, "Reshape")
        try:
            self.__init__(state["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"Reshape.load_state_dict: bad shape ({exc})") from None


class Compose(Transform):
    """Apply transforms in order; `fit` fits each one on the output of those before it."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    @property
    def fitted(self) -> bool:
        return all(getattr(t, "fitted", True) for t in self.transforms)

    def fit(self, x: np.ndarray) -> Compose:
        for t in self.transforms:
            x = t.fit(x)(x)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def state_dict(self) -> dict[str, Any]:
        return {"type": "Compose", "transforms": [t.state_dict() for t in self.transforms]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _check_type(state, "Compose")
        states = state.get("transforms")
        if not isinstance(states, list) or len(states) != len(self.transforms):
            raise DatasetError(
                f"Compose.load_state_dict: expected {len(self.transforms)} transform states"
            )
        for t, s in zip(self.transforms, states):
            t.load_state_dict(s)


_TYPES: dict[str, type[Transform]] = {
    "Normalize": Normalize,
    "Standardize": Standardize,
    "OneHot": OneHot,
    "Reshape": Reshape,
}


def transform_from_state(state: dict[str, Any]) -> Transform:
    """Rebuild a transform (fitted) from its `state_dict()`, e.g. read back from JSON."""
    if not isinstance(state, dict) or "type" not in state:
        raise DatasetError(f"transform_from_state: expected a dict with a 'type', got {state!r}")
    kind = state["type"]
    if kind == "Compose":
        states = state.get("transforms")
        if not isinstance(states, list):
            raise DatasetError("transform_from_state: Compose needs a list of 'transforms'")
        return Compose([transform_from_state(s) for s in states])
    if kind not in _TYPES:
        raise DatasetError(
            f"transform_from_state: unknown transform {kind!r}; known: "
            + ", ".join(sorted([*_TYPES, "Compose"]))
        )
    cls = _TYPES[kind]
    t = cls.__new__(cls)  # load_state_dict sets every attribute
    t.load_state_dict(state)
    return t
