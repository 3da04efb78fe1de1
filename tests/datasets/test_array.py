import numpy as np
import pytest

import torchlite
from torchlite.datasets import ArrayDataset, DatasetError, Normalize, OneHot
from torchlite.utils.data import DataLoader


def test_classification_defaults():
    x = np.arange(24, dtype=np.uint8).reshape(6, 2, 2)
    y = np.array([0, 2, 1, 2, 0, 1], dtype=np.uint8)
    ds = ArrayDataset(x, y, classes=["a", "b", "c"], name="toy")
    assert ds.task == "classification"
    assert ds.targets.dtype == np.int64
    assert len(ds) == 6 and ds.sample_shape == (2, 2) and ds.num_classes == 3
    xi, yi = ds[1]
    assert xi.dtype == torchlite.float32 and yi.dtype == torchlite.int64
    assert xi.tolist() == [[4.0, 5.0], [6.0, 7.0]] and yi.item() == 2
    bx, by = ds.__getbatch__(np.array([5, 0]))
    assert bx.dtype == np.float32 and by.dtype == np.int64
    np.testing.assert_array_equal(bx, x[[5, 0]].astype(np.float32))
    assert "toy" in repr(ds) and "classes=3" in repr(ds)
    assert ArrayDataset(x, y).num_classes == 3  # from the largest label


def test_regression_targets_are_float32_2d():
    x = np.random.default_rng(0).standard_normal((5, 3))
    y = np.linspace(0, 1, 5)
    ds = ArrayDataset(x, y)
    assert ds.task == "regression"
    assert ds.targets.dtype == np.float32 and ds.targets.shape == (5, 1)
    assert ds.num_classes is None
    xi, yi = ds[4]
    assert tuple(yi.shape) == (1,) and yi.tolist() == [1.0]
    assert ds.__getbatch__(np.array([0]))[0].dtype == np.float32
    labels_as_float = ArrayDataset(x, np.array([0.0, 1.0, 1.0, 0.0, 2.0]), task="classification")
    assert labels_as_float.targets.dtype == np.int64
    assert labels_as_float.targets.tolist() == [0, 1, 1, 0, 2]
    col = ArrayDataset(x, np.array([[1], [0], [1], [0], [1]]))
    assert col.targets.shape == (5,)


def test_inputs_only_and_input_dtype():
    x = np.arange(6, dtype=np.int32).reshape(3, 2)
    ds = ArrayDataset(x, input_dtype=None)
    assert ds.task is None
    item = ds[0]
    assert isinstance(item, torchlite.Tensor) and item.dtype == torchlite.int32
    (batch,) = list(DataLoader(ds, batch_size=3))
    np.testing.assert_array_equal(batch.numpy(), x)


@pytest.mark.parametrize(
    "inputs, targets, kwargs, match",
    [
        (np.zeros((3, 2)), np.zeros(4, dtype=int), {}, "3 samples but targets have 4"),
        (np.zeros((0, 2)), None, {}, "empty"),
        (np.zeros(()), None, {}, "sample axis"),
        (np.array(["a", "b"]), None, {}, "numeric"),
        (np.zeros((2, 2)), np.array([0, -1]), {}, ">= 0"),
        (np.zeros((2, 2)), np.array([0.5, 1.0]), {"task": "classification"}, "whole numbers"),
        (np.zeros((2, 2)), np.array([0, 3]), {"classes": ["a", "b"]}, "out of range"),
        (np.zeros((2, 2)), np.array([0, 1]), {"task": "ranking"}, "task must be"),
        (np.zeros((2, 2)), None, {"task": "regression"}, "needs targets"),
        (np.zeros((2, 2)), np.array([0, 1]), {"splits": {"train": [0, 2]}}, "outside"),
    ],
)
def test_validation_errors(inputs, targets, kwargs, match):
    with pytest.raises(DatasetError, match=match):
        ArrayDataset(inputs, targets, **kwargs)


def test_index_errors():
    ds = ArrayDataset(np.zeros((2, 2)), np.array([0, 1]))
    with pytest.raises(IndexError):
        ds[2]
    with pytest.raises(TypeError):
        ds["a"]
    assert ds[-1][1].item() == 1


def test_transforms_apply_per_batch_and_item():
    x = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 50.0]])
    y = np.array([0, 1, 2])
    ds = ArrayDataset(x, y, transform=Normalize(0.0, 2.0), target_transform=OneHot(3))
    bx, by = ds.__getbatch__(np.array([2, 0]))
    np.testing.assert_allclose(bx, [[2.0, 25.0], [0.0, 5.0]])
    np.testing.assert_array_equal(by, [[0, 0, 1], [1, 0, 0]])
    xi, yi = ds[1]
    assert xi.tolist() == [1.0, 15.0] and yi.tolist() == [0.0, 1.0, 0.0]


def test_subset_by_split_name_and_indices():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10) % 2
    ds = ArrayDataset(x, y, splits={"train": range(7), "test": [7, 8, 9]}, name="d")
    test = ds.subset("test")
    assert len(test) == 3 and test.name == "d[test]"
    np.testing.assert_array_equal(test.inputs[:, 0], [7, 8, 9])
    assert test.classes is None and test.task == "classification"
    picked = ds.subset([9, 0])
    np.testing.assert_array_equal(picked.targets, [1, 0])
    with pytest.raises(DatasetError, match="no split named"):
        ds.subset("val")


def test_memmap_inputs_batch_as_plain_arrays(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(12, dtype=np.float64).reshape(6, 2))
    mm = np.load(path, mmap_mode="r")
    ds = ArrayDataset(mm, np.arange(6) % 2)
    (bx, by), *_ = list(DataLoader(ds, batch_size=4))
    assert bx.dtype == torchlite.float32
    np.testing.assert_array_equal(bx.numpy(), np.arange(8).reshape(4, 2))
    same = ArrayDataset(mm, input_dtype=np.float64)
    assert type(same.__getbatch__(np.array([1]))) is np.ndarray
