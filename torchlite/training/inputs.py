"""Inputs for `predict` read from files (.npy, .npz, .csv): unreadable files, non-finite
values and CSV columns are named precisely, and a CSV's columns are matched to the model's.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from torchlite.datasets import DatasetError
from torchlite.errors import DataError, InputNotFoundError

from .config import Config
from .loader import UsageError


class InputArray(np.ndarray):
    """What `load_inputs` returns: the array, plus where it came from, so `predict` can name the
    file in its errors (`source`) and, for a CSV with a header, match columns by name
    (`columns`). A CSV column of text is kept as NaN and listed in `text_columns` ({index:
    (line, first text)}): only `predict` knows the checkpoint, hence whether that column is
    the training target, which it drops by name (any other text column is an error there)."""

    source: str | None = None
    columns: list[str] | None = None
    text_columns: dict | None = None

    def __array_finalize__(self, obj) -> None:
        for name in ("source", "columns", "text_columns"):
            setattr(self, name, getattr(obj, name, None))


def load_inputs(path, key: str | None = None) -> np.ndarray:
    """Inputs for `predict`: .npy (memory-mapped), .npz (`key`, default `x` or the first
    array), .csv; an `InputArray`. A file that is not readable raises DatasetError naming it."""
    p = Path(path)
    if p.exists() and not p.is_file():  # a folder, or a device such as /dev/zero
        from torchlite.datasets.files import not_a_file

        raise DatasetError(f"{p} is {not_a_file(p)}, not an input file (.npy, .npz or .csv)")
    if not p.is_file():
        raise InputNotFoundError(f"{p}: no such input file")
    suffix = p.suffix.lower()
    if key is not None and suffix != ".npz":
        raise UsageError(f"--key {key}: {p} is not an .npz archive; --key names an array "
                         "inside one")
    if suffix == ".csv":
        arr = _csv_inputs(p)
    elif suffix == ".npy":
        arr = _np_load(p, mmap=True)
        if not isinstance(arr, np.ndarray):
            arr.close()
            raise DatasetError(f"{p}: an .npz archive, not a .npy array; name it .npz")
    elif suffix == ".npz":
        z = _np_load(p, mmap=False)
        if isinstance(z, np.ndarray):
            raise DatasetError(f"{p}: a single .npy array, not an .npz archive; name it .npy")
        with z:
            names = list(z.keys())
            k = key or ("x" if "x" in names else names[0] if names else None)
            if k not in names:
                raise DatasetError(f"{p}: no array named {k!r} (it has {', '.join(names)}); "
                                 "pass --key")
            try:
                arr = z[k]
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise _unreadable(p, exc, f"array {k!r}") from None
    else:
        hint = "; a checkpoint goes to --checkpoint" if suffix == ".safetensors" else ""
        raise DatasetError(f"{p}: unsupported input type {suffix!r} (use .npy, .npz or .csv"
                         f"{hint})")
    out = arr if isinstance(arr, InputArray) else arr.view(InputArray)
    out.source = str(p)
    return out


def _np_load(p: Path, mmap: bool):
    from torchlite.datasets.npz_members import read_members

    read_members(p)  # an archive's declared sizes are checked before anything is inflated
    try:
        return np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _unreadable(p, exc) from None


def _unreadable(p: Path, exc: BaseException, part: str = "") -> Exception:
    """A one-line reason why NumPy could not read `p` (never with allow_pickle). An error of
    the OS itself (permission denied, ...) stays as it is: the CLI names it as such."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    from torchlite import _filekind

    kind = p.suffix.lower()
    found = _filekind.sniff(p)
    text = str(exc)
    if "Object arrays" in text or "Python objects" in text or found == "pickle":
        return DatasetError(f"{p}: holds Python objects (a pickle), which torchlite never "
                            "loads; save plain numeric arrays")
    if found == "empty":
        why = "the file is empty"
    elif found not in ("npy", "npz", "unknown"):  # a config, a checkpoint, ...: say which
        why = _filekind.describe(p, found)
    elif "allow_pickle" in text:  # NumPy's guess for a file that is neither .npy nor a zip
        why = "no NumPy .npy or .npz signature at its start"
    else:
        why = f"{type(exc).__name__}: {exc}; truncated or corrupt?"
    where = f" ({part})" if part else ""
    return DatasetError(f"{p}: not a readable {kind} file{where}: {why}")


def _csv_inputs(p: Path) -> InputArray:
    """A CSV of inputs, parsed as load_csv does (same header detection); kept float64, so an
    error can quote a value too large for float32 as written."""
    from torchlite.datasets.files import _detect_header, _is_number, _read_rows

    rows = _read_rows(p, ",")
    if not rows:
        raise DatasetError(f"{p}: the file is empty")
    names = rows[0][1] if _detect_header(rows) else None
    body = rows[1:] if names is not None else rows
    if not body:
        raise DatasetError(f"{p}: no data rows")
    width = len(names) if names is not None else len(body[0][1])
    for ln, row in body:
        if len(row) != width:
            raise DatasetError(f"{p}, line {ln}: expected {width} fields, found {len(row)}")
    x = np.empty((len(body), width), np.float64).view(InputArray)
    x.columns, x.text_columns = names, {}
    for j in range(width):
        try:
            x[:, j] = [float(row[j]) for _, row in body]
        except ValueError:
            ln, text = next((ln, r[j]) for ln, r in body if not _is_number(r[j]))
            if names is None:  # without a header, a target column cannot be told by its name
                raise DatasetError(f"{p}, line {ln}, column {j + 1}: expected a number, found "
                                   f"{text!r} (inputs only: remove a target column)") from None
            x.text_columns[j] = (ln, text)
            x[:, j] = np.nan
    return x


def select_columns(x: InputArray, cfg: Config, pre: dict, src: str) -> np.ndarray:
    """The feature columns of a CSV with a header: the training target column (by name) is
    dropped; where the checkpoint stores the training feature names, columns are put in that
    order and unknown or missing ones refused."""
    columns, text = list(x.columns), x.text_columns or {}
    keep = list(range(len(columns)))
    target = cfg.data.target if isinstance(cfg.data.target, str) else pre.get("target_name")
    if target in columns:
        keep.remove(columns.index(target))
    names = pre.get("feature_names")
    if names:
        keep = [keep[j] for j in feature_order([columns[j] for j in keep], names, src)]
    for j in keep:
        if j in text:
            ln, value = text[j]
            raise DatasetError(f"{src}, line {ln}, column {j + 1} ({columns[j]!r}): expected a "
                               f"number, found {value!r}")
    return np.asarray(x)[:, keep]


def feature_order(have: list[str], names: list[str], src: str) -> list[int]:
    """Positions in `have` (a table's feature columns) of the model's features `names`, in
    the model's order; a DataError (a ValueError) naming missing, unknown or repeated columns."""
    missing = [n for n in names if n not in have]
    unknown = [c for c in have if c not in names]
    twice = sorted({c for c in have if have.count(c) > 1})
    if missing or unknown or twice:
        what = [f"{label} {', '.join(map(repr, cols))}" for label, cols in
                (("missing", missing), ("unknown", unknown), ("repeated", twice)) if cols]
        raise DataError(f"{src}: the columns do not match the model's features "
                         f"({'; '.join(what)}); expected {', '.join(names)}")
    return [have.index(n) for n in names]


def nonfinite(arr, src: str) -> DataError | None:
    """An error naming how many values of `arr` are not finite as float32 (NaN, inf, or too
    large) and where the first is; None when all are. Reads in chunks: a memory-mapped file is
    never copied whole."""
    if arr.dtype.kind in "biu":
        return None
    step = max(1, (1 << 22) // max(1, int(np.prod(arr.shape[1:]))))
    count, first = 0, None
    for i in range(0, arr.shape[0], step):
        chunk = np.asarray(arr[i:i + step])
        with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is what we look for
            bad = ~np.isfinite(chunk.astype(np.float32))
        count += int(np.count_nonzero(bad))
        if first is None and count:
            idx = tuple(int(j) for j in np.argwhere(bad)[0])
            first = (i + idx[0], list(idx[1:]), float(chunk[idx]))
    if first is None:
        return None
    sample, pos, value = first
    where = f"sample {sample}" + (f", position {pos}" if pos else "")
    return DataError(f"{src}: {count} input value{'s are' if count > 1 else ' is'} NaN, "
                      f"infinite or too large for float32 (the first: {value} at {where})")
