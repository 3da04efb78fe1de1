"""ArrayDataset: the one dataset type that every torchlite.datasets loader returns.

It holds whole arrays (NumPy, possibly memory-mapped) and batches them by fancy indexing
(`__getbatch__`, the DataLoader's fast path), converting inputs to `input_dtype` (float32 by
default) one batch at a time, so a memory-mapped or uint8 dataset is never converted as a whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..utils.data.collate import _tensor_from_array
from ..utils.data.dataset import Dataset
from .errors import DatasetError

TASKS = ("classification", "regression")


def _infer_task(targets: np.ndarray | None) -> str | None:
    if targets is None:
        return None
    return "classification" if targets.dtype.kind in "biu" else "regression"


def _check_numeric(arr: np.ndarray, what: str, name: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise DatasetError(f"{name}: {what} must be numeric, got dtype {arr.dtype}")


def as_class_labels(targets: np.ndarray, name: str, num_classes: int | None = None) -> np.ndarray:
    """Validate class labels (integers 0..C-1, integral floats accepted) and return int64."""
    t = np.asarray(targets)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise DatasetError(f"{name}: class labels must be 1-D, got shape {t.shape}")
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
            raise DatasetError(
                f"{name}: class labels must be whole numbers; pass task='regression' for "
                "real-valued targets"
            )
    elif t.dtype.kind not in "biu":
        raise DatasetError(f"{name}: class labels must be integers, got dtype {t.dtype}")
    t = t.astype(np.int64)
    if t.size and t.min() < 0:
        raise DatasetError(f"{name}: class labels must be >= 0, found {int(t.min())}")
    if num_classes is not None and t.size and t.max() >= num_classes:
        raise DatasetError(
            f"{name}: class label {int(t.max())} is out of range for {num_classes} classes"
        )
    return t


class ArrayDataset(Dataset):
    """A dataset of whole arrays: `inputs` (N, ...) and optional `targets` (N,) or (N, k).

    Args:
        inputs: array of samples along the first axis (any numeric dtype; memory maps welcome).
        targets: class labels (stored int64) or regression targets (stored float32, 2-D:
            a 1-D target becomes (N, 1) so it matches a model's (N, 1) output), or None.
        task: "classification" or "regression"; inferred from the targets' dtype when None
            (integers: classification, floats: regression).
        classes: class names, index = label.
        splits: the dataset's own split, name -> index array (e.g. {"train": ..., "test": ...}).
        transform / target_transform: callables applied to each batch of inputs / targets
            (arrays with a leading batch axis), e.g. a fitted `torchlite.datasets.Normalize`.
        input_dtype: inputs are cast to this per batch (None keeps the stored dtype).
        meta: free-form extras (e.g. a synthetic dataset's true coefficients).
        feature_names: the name of each input feature (a CSV's column names), for samples
            that are flat feature vectors; kept so that inputs given later with the same
            columns in another order can be matched by name.

    `dataset[i]` is `(x, y)` (or `x` without targets) as Tensors; batches from a DataLoader are
    `[x, y]` Tensors assembled without a per-sample loop.
    """

    def __init__(
        self,
        inputs: np.ndarray,
        targets: np.ndarray | None = None,
        *,
        task: str | None = None,
        classes: Sequence[str] | None = None,
        splits: Mapping[str, Any] | None = None,
        name: str = "dataset",
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        input_dtype: Any = np.float32,
        meta: dict | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        if not isinstance(inputs, np.ndarray):
            inputs = np.asarray(inputs)
        if inputs.ndim == 0:
            raise DatasetError(f"{name}: inputs must have a sample axis, got a scalar")
        _check_numeric(inputs, "inputs", name)
        n = inputs.shape[0]
        if n == 0:
            raise DatasetError(f"{name}: the dataset is empty (0 samples)")
        if task is not None and task not in TASKS:
            raise DatasetError(f"{name}: task must be one of {TASKS}, got {task!r}")
        if targets is not None:
            targets = np.asarray(targets)
            if targets.ndim == 0 or targets.shape[0] != n:
                got = "a scalar" if targets.ndim == 0 else f"{targets.shape[0]} samples"
                raise DatasetError(f"{name}: inputs have {n} samples but targets have {got}")
            _check_numeric(targets, "targets", name)
            task = task or _infer_task(targets)
            if task == "classification":
                ncls = len(classes) if classes is not None else None
                targets = as_class_labels(targets, name, ncls)
            else:
                targets = np.asarray(targets, dtype=np.float32)
                if targets.ndim == 1:
                    targets = targets[:, None]
        elif task is not None:
            raise DatasetError(f"{name}: task={task!r} needs targets")
        self.inputs = inputs
        self.targets = targets
        self.task = task
        self.classes = list(classes) if classes is not None else None
        self.splits = self._check_splits(splits, n)
        self.transform = transform
        self.target_transform = target_transform
        self.input_dtype = None if input_dtype is None else np.dtype(input_dtype)
        self.meta = dict(meta or {})
        self.feature_names = None if feature_names is None else [str(f) for f in feature_names]
        if self.feature_names is not None and (
                inputs.ndim != 2 or len(self.feature_names) != inputs.shape[1]):
            raise DatasetError(f"{name}: {len(self.feature_names)} feature names for samples of "
                               f"shape {list(inputs.shape[1:])}")

    def _check_splits(self, splits, n: int) -> dict[str, np.ndarray]:
        out = {}
        for key, idx in (splits or {}).items():
            arr = np.asarray(idx, dtype=np.int64).reshape(-1)
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                raise DatasetError(f"{self.name}: split {key!r} has indices outside 0..{n - 1}")
            out[str(key)] = arr
        return out

    # -- facts -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.inputs.shape[0]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one input sample (before transforms)."""
        return tuple(self.inputs.shape[1:])

    @property
    def num_classes(self) -> int | None:
        if self.task != "classification":
            return None
        if self.classes is not None:
            return len(self.classes)
        return int(self.targets.max()) + 1

    def __repr__(self) -> str:
        extra = f", classes={self.num_classes}" if self.task == "classification" else ""
        splits = f", splits={sorted(self.splits)}" if self.splits else ""
        return (
            f"ArrayDataset(name={self.name!r}, samples={len(self)}, "
            f"sample_shape={self.sample_shape}, task={self.task!r}{extra}{splits})"
        )

    # -- access ----------------------------------------------------------------------------------
    def __getbatch__(self, indices: np.ndarray):
        x = self.inputs[indices]
        if self.input_dtype is not None and x.dtype != self.input_dtype:
            x = x.astype(self.input_dtype)
        elif type(x) is not np.ndarray:
            x = np.asarray(x)
        if self.transform is not None:
            x = self.transform(x)
        if self.targets is None:
            return x
        y = self.targets[indices]
        if self.target_transform is not None:
            y = self.target_transform(y)
        return (x, y)

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{self.name}: index must be an integer, got {type(index).__name__}")
        batch = self.__getbatch__(np.array([index], dtype=np.int64))
        if self.targets is None:
            return _tensor_from_array(batch[0, ...])
        return tuple(_tensor_from_array(a[0, ...]) for a in batch)

    def subset(self, which: str | Sequence[int] | np.ndarray) -> ArrayDataset:
        """A new ArrayDataset of the rows `which` (a split name or indices); arrays are copied,
        transforms and class names are shared."""
        if isinstance(which, str):
            if which not in self.splits:
                raise DatasetError(
                    f"{self.name}: no split named {which!r}; it has {sorted(self.splits) or 'none'}"
                )
            label, idx = which, self.splits[which]
        else:
            label, idx = "subset", np.asarray(which, dtype=np.int64).reshape(-1)
        return ArrayDataset(
            np.asarray(self.inputs[idx]),
            None if self.targets is None else self.targets[idx],
            task=self.task,
            classes=self.classes,
            name=f"{self.name}[{label}]",
            transform=self.transform,
            target_transform=self.target_transform,
            input_dtype=self.input_dtype,
            meta=self.meta,
            feature_names=self.feature_names,
        )
