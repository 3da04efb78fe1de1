import gzip
import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import torchlite
from torchlite.datasets import digits
from torchlite.datasets.embedded import DATA_DIR, DIGITS_FILE
from torchlite.utils.data import DataLoader


def test_digits_contents():
    ds = digits()
    assert len(ds) == 1797
    assert ds.inputs.shape == (1797, 1, 8, 8) and ds.inputs.dtype == np.uint8
    assert ds.inputs.min() == 0 and ds.inputs.max() == 16
    assert ds.task == "classification" and ds.classes == [str(i) for i in range(10)]
    assert ds.targets.dtype == np.int64
    counts = np.bincount(ds.targets, minlength=10).tolist()
    assert counts == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert ds.splits == {}
    # the first sample of the UCI file is a 0
    assert ds.targets[0] == 0
    assert ds.inputs[0, 0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    # checksums recorded in DIGITS_LICENSE.txt
    assert hashlib.sha256(ds.inputs.tobytes()).hexdigest().startswith("8f26b2bd9d135c25")
    assert (
        hashlib.sha256(ds.targets.astype(np.uint8).tobytes())
        .hexdigest()
        .startswith("8ba4f891220f5e4c")
    )


def test_digits_flatten_and_loader():
    ds = digits(flatten=True)
    assert ds.inputs.shape == (1797, 64)
    loader = DataLoader(ds, batch_size=64, shuffle=True, seed=0)
    assert len(loader) == 29
    xs, ys = [], []
    for xb, yb in loader:
        assert xb.dtype == torchlite.float32 and yb.dtype == torchlite.int64
        xs.append(xb.numpy())
        ys.append(yb.numpy())
    perm = np.random.default_rng([0, 0]).permutation(1797)
    np.testing.assert_array_equal(np.concatenate(ys), ds.targets[perm])
    np.testing.assert_array_equal(np.concatenate(xs), ds.inputs[perm].astype(np.float32))
    xb, yb = next(iter(DataLoader(ds, batch_size=1797)))
    np.testing.assert_array_equal(xb.numpy(), ds.inputs.astype(np.float32))


def test_digits_matches_scikit_learn_copy():
    spec = importlib.util.find_spec("sklearn")  # located, not imported (slow)
    if spec is None or spec.origin is None:
        pytest.skip("scikit-learn is not installed")
    src = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if not src.is_file():
        pytest.skip("scikit-learn's digits.csv.gz is not installed")
    table = np.loadtxt(gzip.open(src, "rt"), delimiter=",")
    ds = digits(flatten=True)
    np.testing.assert_array_equal(ds.inputs, table[:, :64])
    np.testing.assert_array_equal(ds.targets, table[:, 64])


def test_digits_file_is_small_and_licensed():
    assert DIGITS_FILE.stat().st_size < 100_000
    text = (DATA_DIR / "DIGITS_LICENSE.txt").read_text()
    for needle in ("CC BY 4.0", "Alpaydin", "Kaynak", "scikit-learn", "BSD-3-Clause"):
        assert needle in text
