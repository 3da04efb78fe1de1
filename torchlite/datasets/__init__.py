"""Datasets: the embedded `digits`, MNIST-format files, the user's own files, synthetic data,
array transforms and splits. Every loader returns an `ArrayDataset`; nothing here downloads.

(The CLI keeps its own explicit name -> loader table; nothing registers itself on import.)
"""

from .array import ArrayDataset
from .embedded import digits
from .errors import DatasetError, DatasetNotFoundError, MissingArrayError
from .files import load_csv, load_npy, load_npz
from .idx import fashion_mnist, mnist, read_idx
from .splits import DatasetSplits, split_indices, split_sizes, train_val_test_split
from .synthetic import blobs, moons, regression, spirals
from .tokens import tokens
from .transforms import (
    Compose,
    Normalize,
    OneHot,
    Reshape,
    Standardize,
    Transform,
    transform_from_state,
)

__all__ = [
    "ArrayDataset",
    "Compose",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetSplits",
    "MissingArrayError",
    "Normalize",
    "OneHot",
    "Reshape",
    "Standardize",
    "Transform",
    "blobs",
    "digits",
    "fashion_mnist",
    "load_csv",
    "load_npy",
    "load_npz",
    "mnist",
    "moons",
    "read_idx",
    "regression",
    "spirals",
    "split_indices",
    "split_sizes",
    "tokens",
    "train_val_test_split",
    "transform_from_state",
]
