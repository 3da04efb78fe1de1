"""Datasets shipped inside the package (offline, loaded in milliseconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .array import ArrayDataset
from .errors import DatasetError

DATA_DIR = Path(__file__).resolve().parent / "data"
DIGITS_FILE = DATA_DIR / "digits.npz"


def digits(*, flatten: bool = False) -> ArrayDataset:
    """The UCI optical-recognition handwritten digits: 1,797 8x8 images, 10 classes "0".."9".

    Pixel values are 0..16 (stored uint8, cast to float32 per batch); inputs are (N, 1, 8, 8),
    or (N, 64) with `flatten=True`. The dataset has no split of its own. Licence: CC BY 4.0,
    E. Alpaydin and C. Kaynak (see torchlite/datasets/data/DIGITS_LICENSE.txt).
    """
    try:
        with np.load(DIGITS_FILE, allow_pickle=False) as f:
            images, labels = f["images"], f["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(
            f"the embedded digits file {DIGITS_FILE} is unreadable ({exc})"
        ) from None
    x = images.reshape(len(images), -1) if flatten else images[:, None]
    return ArrayDataset(
        x,
        labels.astype(np.int64),
        task="classification",
        classes=[str(i) for i in range(10)],
        name="digits",
    )
