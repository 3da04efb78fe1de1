"""Token-id inputs (data.input_dtype: int64): checked to be whole, non-negative numbers and fed
to the model as int64, never normalised (an Embedding looks them up; scaling them is meaningless).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from torchlite.datasets import DatasetError


def as_token_ids(ds, where: str, normalize: str, problem: Callable) -> None:
    """Make dataset `ds` hand out int64 inputs, after checking that its values are token ids."""
    if normalize not in ("auto", "none"):
        raise problem(("data", "normalize"), f"token ids (input_dtype int64) are not "
                      f"normalised: use none (or auto), not {normalize!r}")
    x = ds.inputs
    check_token_ids(np.asarray(x), where)
    ds.input_dtype = np.dtype(np.int64)


def check_token_ids(x: np.ndarray, where: str) -> None:
    """Raise DatasetError unless every value of `x` is a whole number >= 0 that fits int64."""
    if x.dtype.kind == "b" or x.dtype.kind not in "iuf":
        raise DatasetError(f"{where}: token ids must be integers, got values of dtype {x.dtype}")
    if x.size == 0:
        return
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x) | (x != np.floor(x)) | (np.abs(x) >= 2.0 ** 63)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DatasetError(f"{where}: token ids must be whole numbers; the value at {at} is "
                               f"{x[at]!r}")
    if x.min() < 0:
        at = tuple(int(i) for i in np.argwhere(x < 0)[0])
        raise DatasetError(f"{where}: token ids must be >= 0; the value at {at} is {x[at]!r}")
