import gzip
import struct

import numpy as np
import pytest

from torchlite.datasets import (
    DatasetError,
    DatasetNotFoundError,
    fashion_mnist,
    mnist,
    read_idx,
)

TYPE_CODES = {"u1": 0x08, "i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def idx_bytes(arr: np.ndarray, code: str) -> bytes:
    """Encode an array in the IDX format, written here from the format description."""
    header = bytes([0, 0, TYPE_CODES[code], arr.ndim]) + b"".join(
        struct.pack(">I", d) for d in arr.shape
    )
    return header + np.ascontiguousarray(arr, dtype=np.dtype(code)).tobytes()


def write(path, data: bytes):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def fake_mnist(folder, n_train=6, n_test=4, gz=False, hw=(28, 28), dotted=False, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *hw), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *hw), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, arr in arrays.items():
        fname = name.replace("-idx", ".idx") if dotted else name
        write(folder / (fname + (".gz" if gz else "")), idx_bytes(arr, "u1"))
    return arrays


@pytest.mark.parametrize("code", list(TYPE_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, code, gz):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(np.dtype(code).newbyteorder("="))
    if code == "u1":
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / ("a.idx" + (".gz" if gz else "")), idx_bytes(arr, code))
    got = read_idx(path)
    assert got.dtype.isnative and got.dtype.kind == np.dtype(code).kind
    assert got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, arr)
    assert got.flags.writeable


def test_read_idx_checks_magic(tmp_path):
    labels = write(tmp_path / "labels", idx_bytes(np.arange(3, dtype=np.uint8), "u1"))
    assert int.from_bytes(labels.read_bytes()[:4], "big") == 0x00000801
    assert read_idx(labels, expect_magic=0x00000801).tolist() == [0, 1, 2]
    with pytest.raises(DatasetError, match="expected IDX magic number 0x00000803"):
        read_idx(labels, expect_magic=0x00000803)
    bad = write(tmp_path / "bad", b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(bad)
    unknown_type = write(tmp_path / "t", b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(unknown_type)
    with pytest.raises(DatasetError, match="too short"):
        read_idx(write(tmp_path / "short", b"\x00\x00"))


def test_read_idx_size_checks(tmp_path):
    data = idx_bytes(np.zeros((4, 5, 5), dtype=np.uint8), "u1")
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(write(tmp_path / "trunc", data[:-1]))
    with pytest.raises(DatasetError, match="trailing bytes"):
        read_idx(write(tmp_path / "long", data + b"\x00"))
    with pytest.raises(DatasetError, match="truncated IDX header"):
        read_idx(write(tmp_path / "hdr", data[:9]))
    gz = write(tmp_path / "x.gz", data)
    (tmp_path / "cut.gz").write_bytes(gz.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="gzip"):
        read_idx(tmp_path / "cut.gz")
    with pytest.raises(DatasetNotFoundError):
        read_idx(tmp_path / "missing")


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_idx_folder(tmp_path, gz):
    arrays = fake_mnist(tmp_path, gz=gz)
    ds = mnist(tmp_path)
    assert len(ds) == 10
    assert ds.inputs.shape == (10, 1, 28, 28) and ds.inputs.dtype == np.uint8
    np.testing.assert_array_equal(ds.inputs[:6, 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.inputs[6:, 0], arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.targets[6:], arrays["t10k-labels-idx1-ubyte"])
    assert ds.targets.dtype == np.int64
    assert ds.splits["train"].tolist() == list(range(6))
    assert ds.splits["test"].tolist() == [6, 7, 8, 9]
    assert ds.classes == [str(i) for i in range(10)]
    flat = mnist(tmp_path, flatten=True)
    assert flat.inputs.shape == (10, 784)


def test_mnist_search_paths_and_env(tmp_path, monkeypatch):
    fake_mnist(tmp_path / "mnist", dotted=True, hw=(4, 4))
    monkeypatch.setenv("TORCHLITE_DATA", str(tmp_path))
    ds = mnist()
    assert ds.sample_shape == (1, 4, 4)
    fake_mnist(tmp_path / "FashionMNIST" / "raw", gz=True, hw=(3, 3))
    fm = fashion_mnist()
    assert fm.sample_shape == (1, 3, 3)
    assert fm.classes[0] == "T-shirt/top" and fm.classes[9] == "Ankle boot"
    assert fm.name == "fashion_mnist"


def test_mnist_keras_npz(tmp_path):
    rng = np.random.default_rng(1)
    parts = {
        "x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 5, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 2, dtype=np.uint8),
    }
    np.savez(tmp_path / "mnist.npz", **parts)
    for source in (tmp_path, tmp_path / "mnist.npz"):
        ds = mnist(source)
        assert len(ds) == 7
        np.testing.assert_array_equal(ds.inputs[5:, 0], parts["x_test"])
        np.testing.assert_array_equal(ds.targets[:5], parts["y_train"])
    np.savez(tmp_path / "partial.npz", x_train=parts["x_train"])
    with pytest.raises(DatasetError, match="missing arrays y_train, x_test, y_test"):
        mnist(tmp_path / "partial.npz")
    np.savez(tmp_path / "obj.npz", **{**parts, "x_train": np.array([None] * 5, dtype=object)})
    with pytest.raises(DatasetError, match="safely"):
        mnist(tmp_path / "obj.npz")


def test_mnist_missing_files_message(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHLITE_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError, match="TORCHLITE_DATA is not set") as err:
        mnist()
    msg = str(err.value)
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "mnist.npz", "https://"):
        assert name in msg
    assert "never downloads" in msg
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, ValueError)
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path)):
        fashion_mnist(tmp_path)
    fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError, match="missing: t10k-labels-idx1-ubyte"):
        mnist(tmp_path)


def test_mnist_inconsistent_files(tmp_path):
    arrays = fake_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(5, dtype=np.uint8), "u1"))
    with pytest.raises(DatasetError, match="6 train images but 5 train labels"):
        mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.full(6, 12, dtype=np.uint8), "u1"))
    with pytest.raises(DatasetError, match=r"labels must be in 0\.\.9"):
        mnist(tmp_path)
    # an image file where a label file belongs: wrong magic number
    write(
        tmp_path / "train-labels-idx1-ubyte",
        idx_bytes(arrays["train-images-idx3-ubyte"], "u1"),
    )
    with pytest.raises(DatasetError, match="magic"):
        mnist(tmp_path)
    fake_mnist(tmp_path)
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(np.zeros((4, 5, 5), np.uint8), "u1"))
    with pytest.raises(DatasetError, match="test images"):
        mnist(tmp_path)
