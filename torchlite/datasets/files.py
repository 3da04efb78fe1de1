"""Datasets from the user's own files: .npz, a pair of .npy files (memory-mapped), .csv.

Nothing here unpickles: NumPy files are opened with `allow_pickle=False`, CSV is parsed as text.
Inputs are stored as read and cast to float32 one batch at a time; class labels become int64 and
regression targets float32 of shape (N, k). The task is inferred when not given: integer labels
(or, in CSV, text labels, or whole numbers >= 0 with at most 100 distinct values) mean
classification, anything else regression.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import _filekind
from .array import ArrayDataset
from .errors import DatasetError, DatasetNotFoundError, MissingArrayError
from .npz_members import read_members

PathLike = str | os.PathLike

MAX_INFERRED_CLASSES = 100
_CHUNK_BYTES = 1 << 24  # finiteness is checked this much at a time: a memory map stays on disk


def _first_non_finite(arr: np.ndarray) -> tuple[int, tuple | None]:
    """(count of values of `arr` that are NaN, Inf or too large for float32, index of the first
    one or None), read in chunks of samples so that a memory-mapped file is never loaded whole."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return 0, None  # integers cannot hold NaN or Inf
    arr = arr.reshape(1) if arr.ndim == 0 else arr
    per_sample = max(1, arr.size // max(1, len(arr)) * arr.itemsize)
    step = max(1, _CHUNK_BYTES // per_sample)
    count, first = 0, None
    for start in range(0, len(arr), step):
        chunk = arr[start:start + step]
        with np.errstate(over="ignore", invalid="ignore"):
            # batches are cast to float32 for training: a 1e300 stored as float64 is Inf there
            bad = ~np.isfinite(chunk.astype(np.float32))
        n = int(np.count_nonzero(bad))
        if n and first is None:
            idx = np.unravel_index(int(np.argmax(bad)), bad.shape)
            first = (start + int(idx[0]), *(int(i) for i in idx[1:]))
        count += n
    return count, first


def _check_finite(arr: np.ndarray | None, where: str, what: str) -> None:
    """Refuse NaN/Inf in a loaded array: one would make the loss NaN at the first batch holding
    it (reported as a diverged run), or only in evaluation if it lands in the test split."""
    if arr is None:
        return
    count, first = _first_non_finite(arr)
    if count:
        raise DatasetError(
            f"{where}: {what} holds {count} non-finite value{'s' if count > 1 else ''} (NaN, Inf "
            f"or too large for float32), the first at index {list(first)} (sample {first[0]}); "
            "remove or fill them in"
        )


def _existing(path: PathLike, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        if p.exists():  # a folder or a device (/dev/zero) is there: "not found" would mislead
            raise DatasetError(f"{what}: {p} is {not_a_file(p)}, not a data file")
        raise DatasetNotFoundError(f"{what}: file not found: {p}")
    return p


def not_a_file(p: Path) -> str:
    """What `p`, which exists but is no regular file, is: 'a folder', 'a device', ..."""
    import stat

    mode = p.stat().st_mode
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    return "not a regular file"


def _np_load(path: Path, mmap: bool = False, expected: str = "a NumPy .npy or .npz file"):
    read_members(path)  # an archive's declared sizes are checked before anything is inflated
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the OS's own error (permission denied, ...): the CLI names it as such
        raise numpy_file_error(path, exc, expected) from None


def numpy_file_error(path: Path, exc: BaseException, expected: str) -> DatasetError:
    """Why NumPy could not read `path` as `expected` ("a NumPy .npz archive"), in one line
    naming the file: a file of another kind is named for what it is (a config, a checkpoint,
    a pickle), never with NumPy's advice to load it with allow_pickle."""
    kind = _filekind.sniff(path)
    text = str(exc)
    if kind == "pickle" or "Object arrays" in text or "Python objects" in text:
        return DatasetError(f"{path}: holds Python objects (a pickle), which torchlite never "
                            "loads; save plain numeric arrays")
    if kind not in ("npy", "npz"):
        what = _filekind.describe(path, kind) or "no NumPy signature at its start"
        return DatasetError(f"{path}: not {expected} ({what})")
    if "allow_pickle" in text:
        text = "the file is truncated or corrupt"
    return DatasetError(f"{path}: not a readable {expected} ({type(exc).__name__}: {text})")


def load_npz(
    path: PathLike,
    inputs: str = "x",
    targets: str | None = "y",
    *,
    task: str | None = None,
    classes: str | Sequence[str] | None = "classes",
    name: str | None = None,
) -> ArrayDataset:
    """Load arrays `inputs` and `targets` (key names) from an .npz archive.

    When the file has no `inputs` key but has `<inputs>_train` (and `<inputs>_test`, with the
    matching target keys), the parts are joined and recorded as the dataset's own split.
    `classes` is the key of an optional array of class names, or the names themselves.
    """
    p = _existing(path, "load_npz")
    name = name or p.stem
    archive = _np_load(p, expected="a NumPy .npz archive")
    _same_length(p, read_members(p), inputs, targets)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{p}: expected an .npz archive, found a single .npy array")
    with archive:
        keys = set(archive.files)

        def get(key: str) -> np.ndarray:
            try:
                return archive[key]
            except ValueError as exc:  # object arrays need pickle: refused
                raise DatasetError(f"{p}: array {key!r} cannot be read safely ({exc})") from None

        splits = None
        if inputs in keys:
            x = get(inputs)
            if targets is not None and targets not in keys:
                raise MissingArrayError(
                    f"{p}: no array {targets!r} for the targets; the file has "
                    f"{', '.join(sorted(keys))}. Pass targets= with the right key (or None).",
                    path=p, role="targets", key=targets, keys=keys)
            y = get(targets) if targets is not None else None
        elif f"{inputs}_train" in keys:
            parts = [s for s in ("train", "val", "test") if f"{inputs}_{s}" in keys]
            xs = [get(f"{inputs}_{s}") for s in parts]
            ys = None
            if targets is not None:
                missing = [f"{targets}_{s}" for s in parts if f"{targets}_{s}" not in keys]
                if missing:
                    raise DatasetError(f"{p}: missing target arrays {', '.join(missing)}")
                ys = [get(f"{targets}_{s}") for s in parts]
            _same_sample_shape(p, xs, parts)
            x = np.concatenate(xs)
            y = None if ys is None else np.concatenate(ys)
            bounds = np.cumsum([0] + [len(a) for a in xs])
            splits = {s: np.arange(a, b) for s, a, b in zip(parts, bounds[:-1], bounds[1:])}
        else:
            raise MissingArrayError(
                f"{p}: no array {inputs!r} (or {inputs}_train); the file has "
                f"{', '.join(sorted(keys)) or 'no arrays'}. Pass inputs= with the right key.",
                path=p, role="inputs", key=inputs, keys=keys)
        _check_finite(x, str(p), f"array {inputs!r}" if splits is None else f"{inputs}_*")
        _check_finite(y, str(p), f"array {targets!r}" if splits is None else f"{targets}_*")
        names = None
        if isinstance(classes, str):
            if classes in keys:
                names = [str(c) for c in get(classes).reshape(-1).tolist()]
        elif classes is not None:
            names = [str(c) for c in classes]
    return ArrayDataset(x, y, task=task, classes=names, splits=splits, name=name)


def _same_length(p: Path, members: dict, inputs: str, targets: str | None) -> None:
    """Inputs and targets of different lengths are refused from their headers, before either
    is inflated (a forged archive would otherwise cost its whole declared size first)."""
    x, y = members.get(inputs), members.get(targets) if targets is not None else None
    if x is not None and y is not None and x.shape[:1] != y.shape[:1]:
        nx, ny = (x.shape[0] if x.shape else 0), (y.shape[0] if y.shape else 0)
        raise DatasetError(f"{p}: inputs have {nx} samples but targets have {ny}")


def _same_sample_shape(p: Path, arrays: list, parts: list) -> None:
    shapes = {a.shape[1:] for a in arrays if a.ndim}
    if len(shapes) > 1 or any(a.ndim == 0 for a in arrays):
        raise DatasetError(f"{p}: the {'/'.join(parts)} arrays have different sample shapes")


def load_npy(
    inputs_path: PathLike,
    targets_path: PathLike | None = None,
    *,
    task: str | None = None,
    classes: Sequence[str] | None = None,
    mmap: bool = True,
    name: str | None = None,
) -> ArrayDataset:
    """Load inputs (and targets) from .npy files; inputs are memory-mapped unless `mmap=False`,
    so a dataset larger than memory is read batch by batch."""
    px = _existing(inputs_path, "load_npy")
    x = _np_load(px, mmap=mmap, expected="a NumPy .npy array")
    if not isinstance(x, np.ndarray):
        raise DatasetError(f"{px}: expected a .npy array, found an .npz archive (use load_npz)")
    _check_finite(x, str(px), "the inputs array")
    y = None
    if targets_path is not None:
        py = _existing(targets_path, "load_npy")
        y = _np_load(py, expected="a NumPy .npy array")
        if not isinstance(y, np.ndarray):
            raise DatasetError(f"{py}: expected a .npy array, found an .npz archive")
        _check_finite(y, str(py), "the targets array")
    return ArrayDataset(x, y, task=task, classes=classes, name=name or px.stem)


# -- CSV -----------------------------------------------------------------------------------------


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _read_rows(p: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            rows = [(reader.line_num, [c.strip() for c in row]) for row in reader if row]
    except UnicodeDecodeError as exc:
        kind = _filekind.sniff(p)  # a NumPy file or a checkpoint, say, is named as such
        what = None if kind == "text" else _filekind.describe(p, kind)
        raise DatasetError(f"{p}: not a CSV text file ({what})" if what else
                           f"{p}: not a UTF-8 text file ({exc.reason})") from None
    except csv.Error as exc:
        raise DatasetError(f"{p}: malformed CSV ({exc})") from None
    return [(ln, row) for ln, row in rows if any(row)]


_OTHER_DELIMITERS = {";": "';'", "\t": "'\\t'", "|": "'|'"}


def _delimiter_hint(cells, delimiter: str) -> str:
    """A hint when the text holds another common field separator: the file was split on the
    wrong one (a ';' file read as ',' gives one field per row)."""
    text = "".join(cells)
    found = next((shown for d, shown in _OTHER_DELIMITERS.items()
                  if d != delimiter and d in text), None)
    if found is None:
        return ""
    return (f"; the file seems to separate fields with {found}: pass delimiter={found} "
            f"(data.delimiter in a config)")


def _detect_header(rows: list[tuple[int, list[str]]]) -> bool:
    """A first row with a non-number where the second row has a number is a header."""
    if len(rows) < 2:
        return not all(_is_number(c) for c in rows[0][1]) if rows else False
    first, second = rows[0][1], rows[1][1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second))


def load_csv(
    path: PathLike,
    target: int | str | None = -1,
    *,
    header: bool | None = None,
    delimiter: str = ",",
    task: str | None = None,
    name: str | None = None,
) -> ArrayDataset:
    """Load a table: every column but `target` is a numeric feature. With a header, the
    dataset keeps the features' column names (`feature_names`) and the target's
    (`meta["target_name"]`).

    Args:
        target: the target column, by index (negative counts from the end) or by header name;
            None for a file of inputs only.
        header: whether the first row holds column names; None detects it (a first row with
            text where the second row has numbers). A target given by name needs a header.
        delimiter: the field separator.
        task: "classification" or "regression"; inferred when None (see the module docstring).
            Text labels are classification; their sorted distinct values become `classes`.
    """
    p = _existing(path, "load_csv")
    rows = _read_rows(p, delimiter)
    if header is None:
        header = isinstance(target, str) or _detect_header(rows)
    names: list[str] | None = None
    if header:
        if not rows:
            raise DatasetError(f"{p}: the file is empty")
        names = rows[0][1]
        rows = rows[1:]
    if not rows:
        raise DatasetError(f"{p}: no data rows")
    width = len(names) if names is not None else len(rows[0][1])
    for ln, row in rows:
        if len(row) != width:
            raise DatasetError(f"{p}, line {ln}: expected {width} fields, found {len(row)}"
                               f"{_delimiter_hint(row, delimiter)}")
    col = _target_column(p, target, names, width, delimiter)
    feature_cols = [j for j in range(width) if j != col]
    if not feature_cols:
        raise DatasetError(f"{p}: no feature columns besides the target"
                           f"{_delimiter_hint(rows[0][1], delimiter)}")
    x = np.empty((len(rows), len(feature_cols)), dtype=np.float32)
    for i, (ln, row) in enumerate(rows):
        try:
            with np.errstate(over="ignore"):  # a value too large for float32 becomes Inf,
                x[i] = [float(row[j]) for j in feature_cols]  # reported below with its line
        except ValueError:
            bad = next(j for j in feature_cols if not _is_number(row[j]))
            label = f"column {bad + 1}" + (f" ({names[bad]!r})" if names else "")
            raise DatasetError(
                f"{p}, line {ln}, {label}: expected a number, found {row[bad]!r}"
                f"{_delimiter_hint([row[bad]], delimiter)}"
            ) from None
    count, first = _first_non_finite(x)
    if count:
        _csv_non_finite(p, count, rows[first[0]][0], feature_cols[first[1]], names, "features")
    features = None if names is None else [names[j] for j in feature_cols]
    if col is None:
        return ArrayDataset(x, None, name=name or p.stem, feature_names=features)
    raw = [row[col] for _, row in rows]
    y, task, classes = _csv_targets(p, raw, task, rows, col)
    count, first = _first_non_finite(np.asarray(y))
    if count:
        _csv_non_finite(p, count, rows[first[0]][0], col, names, "target column")
    meta = {} if names is None else {"target_name": names[col]}
    return ArrayDataset(x, y, task=task, classes=classes, name=name or p.stem,
                        feature_names=features, meta=meta)


def _csv_non_finite(p: Path, count: int, line: int, col: int, names, what: str) -> None:
    label = f"column {col + 1}" + (f" ({names[col]!r})" if names else "")
    raise DatasetError(
        f"{p}: the {what} hold{'s' if what.endswith('column') else ''} {count} non-finite "
        f"value{'s' if count > 1 else ''} (NaN, Inf, or too large for float32), the first at "
        f"line {line}, {label}; remove or fill them in"
    )


def _target_column(p: Path, target, names, width: int, delimiter: str = ",") -> int | None:
    if target is None:
        return None
    if isinstance(target, str):
        if names is None:
            raise DatasetError(
                f"{p}: target {target!r} is a column name but the file has no header"
            )
        if target not in names:
            shown = ", ".join(names)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            hint = _delimiter_hint(names, delimiter)
            if not hint and all(_is_number(n) for n in names):
                hint = ("; its first row holds numbers, so the file has no header row: give "
                        "the target by position (target=-1 for the last column; data.target "
                        "and data.header: false in a config)")
            raise DatasetError(f"{p}: no column named {target!r}; columns are {shown}{hint}")
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, int) or not -width <= target < width:
        raise DatasetError(f"{p}: target column {target!r} is out of range for {width} columns")
    return target % width


def _csv_targets(p: Path, raw: list[str], task, rows, col):
    numeric = all(_is_number(v) for v in raw)
    if not numeric:
        if task == "regression":
            ln, row = next((ln, r) for ln, r in rows if not _is_number(r[col]))
            raise DatasetError(
                f"{p}, line {ln}: regression target must be a number, found {row[col]!r}"
            )
        classes = sorted(set(raw))
        lookup = {c: i for i, c in enumerate(classes)}
        return np.array([lookup[v] for v in raw], dtype=np.int64), "classification", classes
    values = np.array([float(v) for v in raw], dtype=np.float64)
    if task is None:
        whole = np.all(np.isfinite(values)) and np.all(values == np.round(values))
        few = len(np.unique(values)) <= MAX_INFERRED_CLASSES
        task = "classification" if whole and few and values.min() >= 0 else "regression"
    return values, task, None
