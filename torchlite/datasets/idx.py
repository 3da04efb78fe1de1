"""MNIST and Fashion-MNIST from local files: the IDX format (raw or .gz) or Keras' .npz.

Nothing is downloaded, ever. Files are looked for in the directory given, else in the one named by
the TORCHLITE_DATA environment variable (and in the usual sub-folders of either); a missing file
raises `DatasetNotFoundError` naming the files, the folders searched and where to get them.

IDX (LeCun et al.): a big-endian header of two zero bytes, a type code, the number of dimensions,
then one uint32 per dimension, then the data. Images are magic 0x00000803 (uint8, 3-D), labels
0x00000801 (uint8, 1-D). `read_idx` checks the header and that the data is exactly as long as
the header says.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .array import ArrayDataset
from .errors import DatasetError, DatasetNotFoundError
from .files import numpy_file_error

ENV_VAR = "TORCHLITE_DATA"

_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

_SOURCES = {
    "mnist": (
        "MNIST",
        ["mnist", "MNIST", os.path.join("MNIST", "raw")],
        ["mnist.npz"],
        "https://ossci-datasets.s3.amazonaws.com/mnist/ (IDX .gz files) or "
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    ),
    "fashion_mnist": (
        "Fashion-MNIST",
        ["fashion_mnist", "fashion-mnist", "FashionMNIST", os.path.join("FashionMNIST", "raw")],
        ["fashion_mnist.npz", "fashion-mnist.npz"],
        "https://github.com/zalandoresearch/fashion-mnist (data/fashion/*.gz)",
    ),
}
_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip file ({exc})") from None


def read_idx(path: str | os.PathLike, expect_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (raw or .gz) into a native-endian array, checking header and size."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DatasetNotFoundError(f"read_idx: file not found: {p}")
    data = _read_bytes(p)
    if len(data) < 4:
        raise DatasetError(f"{p}: too short to be an IDX file ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        raise DatasetError(f"{p}: not an IDX file (magic number 0x{magic:08X})")
    if expect_magic is not None and magic != expect_magic:
        raise DatasetError(
            f"{p}: expected IDX magic number 0x{expect_magic:08X}, found 0x{magic:08X}"
        )
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{p}: truncated IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DatasetError(
            f"{p}: IDX file {what}: header says shape {dims} ({expected} bytes), file has "
            f"{len(data)} bytes"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def _search_dirs(key: str, root) -> list[Path]:
    if root is None:
        env = os.environ.get(ENV_VAR)
        if not env:
            return []
        root = env
    base = Path(root).expanduser()
    return [base] + [base / sub for sub in _SOURCES[key][1]]


def _find(folder: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _not_found(key: str, dirs: list[Path], partial: tuple | None) -> DatasetNotFoundError:
    title, _, npz_names, url = _SOURCES[key]
    where = (
        "looked in " + ", ".join(str(d) for d in dirs)
        if dirs
        else f"no folder was given and {ENV_VAR} is not set"
    )
    missing = ""
    if partial:
        found, folder = partial
        lost = [n for n in _FILES.values() if n not in found]
        missing = f" In {folder} these are missing: {', '.join(lost)}."
    return DatasetNotFoundError(
        f"{title} files not found ({where}).{missing} Expected the four IDX files "
        f"{', '.join(_FILES.values())} (each raw or .gz) or {' / '.join(npz_names)} "
        "(Keras format: x_train, y_train, x_test, y_test) in that folder. torchlite never "
        f"downloads data: get them from {url}, then pass the folder (path=...) or set "
        f"{ENV_VAR}=<folder>."
    )


def _load_keras_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the OS's own error (permission denied, ...): the CLI names it as such
        err = numpy_file_error(path, exc, "a NumPy .npz archive")
        raise DatasetError(f"{err}; MNIST-like data is a folder of IDX files or a Keras-style "
                           ".npz (x_train, y_train, x_test, y_test)") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path}: expected an .npz archive")
    with archive:
        need = ["x_train", "y_train", "x_test", "y_test"]
        missing = [k for k in need if k not in archive.files]
        if missing:
            raise DatasetError(
                f"{path}: missing arrays {', '.join(missing)} (Keras format needs {need})"
            )
        try:
            return {k: archive[k] for k in need}
        except ValueError as exc:
            raise DatasetError(f"{path}: arrays cannot be read safely ({exc})") from None


def _load_parts(key: str, root) -> tuple[dict[str, np.ndarray], Path]:
    if root is not None and Path(root).expanduser().is_file():
        p = Path(root).expanduser()
        return _load_keras_npz(p), p
    dirs = _search_dirs(key, root)
    partial = None
    for folder in dirs:
        if not folder.is_dir():
            continue
        found = {k: _find(folder, stem) for k, stem in _FILES.items()}
        if all(found.values()):
            parts = {
                k: read_idx(f, IMAGES_MAGIC if k.endswith("images") else LABELS_MAGIC)
                for k, f in found.items()
            }
            return {
                "x_train": parts["train_images"],
                "y_train": parts["train_labels"],
                "x_test": parts["test_images"],
                "y_test": parts["test_labels"],
            }, folder
        for npz in _SOURCES[key][2]:
            if (folder / npz).is_file():
                return _load_keras_npz(folder / npz), folder / npz
        if any(found.values()) and partial is None:
            partial = ({_FILES[k] for k, v in found.items() if v}, folder)
    raise _not_found(key, dirs, partial)


def _idx_dataset(key: str, root, flatten: bool, classes: list[str]) -> ArrayDataset:
    parts, source = _load_parts(key, root)
    xs, ys = (parts["x_train"], parts["x_test"]), (parts["y_train"], parts["y_test"])
    for x, y, split in zip(xs, ys, ("train", "test")):
        if x.ndim != 3 or x.dtype != np.uint8:
            raise DatasetError(
                f"{source}: {split} images must be uint8 (N, H, W), got {x.dtype} {x.shape}"
            )
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise DatasetError(f"{source}: {split} labels must be 1-D integers, got {y.shape}")
        if len(x) != len(y):
            raise DatasetError(f"{source}: {len(x)} {split} images but {len(y)} {split} labels")
        if y.size and (y.min() < 0 or y.max() >= len(classes)):
            raise DatasetError(f"{source}: {split} labels must be in 0..{len(classes) - 1}")
    if xs[0].shape[1:] != xs[1].shape[1:]:
        raise DatasetError(
            f"{source}: train images are {xs[0].shape[1:]} but test images are {xs[1].shape[1:]}"
        )
    n_train = len(xs[0])
    x = np.concatenate(xs)
    x = x.reshape(len(x), -1) if flatten else x[:, None]
    y = np.concatenate(ys).astype(np.int64)
    splits = {"train": np.arange(n_train), "test": np.arange(n_train, len(x))}
    return ArrayDataset(
        x,
        y,
        task="classification",
        classes=classes,
        splits=splits,
        name=key,
        meta={"source": str(source)},
    )


def mnist(path: str | os.PathLike | None = None, *, flatten: bool = False) -> ArrayDataset:
    """MNIST handwritten digits (70,000 28x28 uint8 images; own split: 60,000 train / 10,000
    test), from a folder of IDX files or a Keras mnist.npz (see the module docstring).

    Inputs are (N, 1, 28, 28), or (N, 784) with `flatten=True`; values 0..255, float32 per batch.
    """
    return _idx_dataset("mnist", path, flatten, [str(i) for i in range(10)])


def fashion_mnist(path: str | os.PathLike | None = None, *, flatten: bool = False) -> ArrayDataset:
    """Fashion-MNIST (Zalando; same file format and sizes as MNIST, 10 clothing classes)."""
    return _idx_dataset("fashion_mnist", path, flatten, list(FASHION_CLASSES))
