import numpy as np
import pytest

from torchlite.datasets import (
    ArrayDataset,
    DatasetError,
    blobs,
    regression,
    split_indices,
    split_sizes,
    train_val_test_split,
)


def test_split_sizes_largest_remainder():
    assert split_sizes(10, [0.8, 0.1, 0.1]) == [8, 1, 1]
    assert split_sizes(7, [0.5, 0.5]) == [4, 3]
    assert split_sizes(10, [0.34, 0.33, 0.33]) == [4, 3, 3]
    assert split_sizes(3, [1.0, 0.0]) == [3, 0]
    assert split_sizes(0, [0.5, 0.5]) == [0, 0]
    for bad in ([0.5, 0.6], [], [1.5, -0.5], [float("nan"), 1.0]):
        with pytest.raises(ValueError, match="sum to 1"):
            split_sizes(10, bad)


def test_split_indices_partition_and_determinism():
    parts = split_indices(101, [0.7, 0.2, 0.1], seed=3)
    assert [len(p) for p in parts] == [71, 20, 10]
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(101))
    assert all(np.all(np.diff(p) > 0) for p in parts)  # sorted, no repeats
    again = split_indices(101, [0.7, 0.2, 0.1], seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = split_indices(101, [0.7, 0.2, 0.1], seed=4)
    assert not np.array_equal(parts[1], other[1])
    with pytest.raises(ValueError, match="non-negative integer"):
        split_indices(-1, [1.0])


def test_split_indices_stratified():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    np.random.default_rng(0).shuffle(labels)
    fractions = [0.6, 0.2, 0.2]
    parts = split_indices(100, fractions, seed=1, stratify=labels)
    assert [len(p) for p in parts] == [60, 20, 20]
    for part, frac in zip(parts, fractions):
        counts = np.bincount(labels[part], minlength=3)
        expected = frac * np.array([50, 30, 20])
        assert np.all(np.abs(counts - expected) <= 1), (counts, expected)
    # a rare class is spread too, and the result is seed-deterministic
    rare = np.array([0] * 95 + [1] * 5)
    a = split_indices(100, [0.6, 0.4], seed=7, stratify=rare)
    assert np.bincount(rare[a[0]], minlength=2)[1] == 3
    b = split_indices(100, [0.6, 0.4], seed=7, stratify=rare)
    assert np.array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="stratify needs 100 labels"):
        split_indices(100, [1.0], stratify=rare[:10])


def test_train_val_test_split_from_fractions():
    ds = blobs(n_samples=200, centers=4, seed=0)
    parts = train_val_test_split(ds, val=0.1, test=0.2, seed=5, stratify=True)
    assert [len(parts.train), len(parts.val), len(parts.test)] == [140, 20, 40]
    assert parts.train.name == "blobs[train]" and parts.test.name == "blobs[test]"
    assert parts.train.classes == ds.classes and parts.val.task == "classification"
    rows = np.concatenate([parts.train.inputs, parts.val.inputs, parts.test.inputs])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, ds.inputs.tolist()))
    for part, n in ((parts.val, 20), (parts.test, 40)):
        counts = np.bincount(part.targets, minlength=4)
        assert np.all(np.abs(counts - n / 4) <= 1)
    again = train_val_test_split(ds, val=0.1, test=0.2, seed=5, stratify=True)
    np.testing.assert_array_equal(again.val.inputs, parts.val.inputs)
    no_val = train_val_test_split(ds, val=0.0, test=0.25)
    assert no_val.val is None and len(no_val.train) == 150 and len(no_val.test) == 50


def test_train_val_test_split_uses_own_split():
    x = np.arange(100, dtype=np.float32)[:, None]
    y = np.arange(100) % 5
    ds = ArrayDataset(x, y, splits={"train": np.arange(80), "test": np.arange(80, 100)}, name="m")
    parts = train_val_test_split(ds, val=0.25, test=0.5, seed=0, stratify=True)
    np.testing.assert_array_equal(parts.test.inputs[:, 0], np.arange(80, 100))
    assert len(parts.val) == 20 and len(parts.train) == 60  # val carved from own train only
    assert parts.val.inputs.max() < 80 and parts.train.inputs.max() < 80
    assert set(parts.val.inputs[:, 0]).isdisjoint(parts.train.inputs[:, 0])
    assert np.bincount(parts.val.targets).tolist() == [4, 4, 4, 4, 4]
    ignored = train_val_test_split(ds, val=0.1, test=0.1, use_own_split=False)
    assert [len(ignored.train), len(ignored.val), len(ignored.test)] == [80, 10, 10]
    everything = np.concatenate([ignored.train.inputs, ignored.val.inputs, ignored.test.inputs])
    assert sorted(everything[:, 0].tolist()) == list(range(100))  # drawn from all 100 rows


def test_train_val_test_split_errors():
    reg = regression(n_samples=20)
    with pytest.raises(DatasetError, match="stratify needs class labels"):
        train_val_test_split(reg, stratify=True)
    with pytest.raises(ValueError, match="val must be in"):
        train_val_test_split(reg, val=1.0)
    with pytest.raises(ValueError, match="val \\+ test"):
        train_val_test_split(reg, val=0.5, test=0.5)
    tiny = ArrayDataset(np.zeros((2, 1)), np.array([0, 1]))
    parts = train_val_test_split(tiny, val=0.1, test=0.1)
    assert len(parts.train) == 2 and parts.val is None and parts.test is None
