"""Run folders and the files in them, written atomically.

    runs/<name>/            (<name>-2, -3, ... when taken, unless exist_ok)
      config.yaml           the resolved config, written first
      metrics.csv           one row per epoch, fixed header
      train.log             plain text, appended
      summary.json          written at the end
      weights/best.safetensors, weights/last.safetensors, weights/last_state.safetensors
      eval/                 reports written by `torchlite eval`
      plots/                pictures of the run (plots.write_run_plots), written at the end
      .lock                 while a run uses the folder: who holds it (see RunLock)

Every file except train.log is replaced atomically (temp file in the same folder, flush, fsync,
os.replace), so a crash at any instant leaves the previous version whole.

A run holds an OS lock on its folder for its whole life, so two processes never write into one
folder. torchlite never deletes, replaces or appends through a symbolic link in a run folder: a
link where it would write is refused (RunFolderError, exit 2), since the link's target may be
anything (another run, a user's file).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointNotFoundError, DataError, UsageError
from ..serialization import atomic_write_bytes, temp_name_pattern, writing
from .loader import dump_yaml
from .run_guard import RunFolderBusyError, RunFolderError, RunLock, link_error, open_no_follow

__all__ = [
    "CheckpointNotFoundError", "MetricsCSV", "RunFolderBusyError", "RunFolderError", "RunLock",
    "RunPaths", "append_log", "atomic_write_bytes", "atomic_write_csv", "atomic_write_json",
    "atomic_write_text", "clear_run_files", "create_run_dir", "json_safe", "latest_run",
    "metrics_header", "open_run_dir", "reopen_run_dir", "resolve_checkpoint", "run_dir_of",
    "write_config", "write_summary",
]

WEIGHTS_SUFFIX = ".safetensors"


# -- atomic writes --------------------------------------------------------------------------------
def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(obj: Any) -> Any:
    """Plain JSON data: NaN/Inf become null, tuples lists, NumPy scalars and arrays Python values,
    Paths strings."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return json_safe(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Strict JSON (non-finite floats written as null), indented, atomically."""
    return atomic_write_text(path, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")


def _csv_text(header: list[str], rows, with_header: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if with_header:
        writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return buf.getvalue()


def atomic_write_csv(path: str | Path, header: list[str], rows) -> Path:
    """A CSV file with `header` and `rows` (sequences, or dicts keyed by header names)."""
    return atomic_write_text(path, _csv_text(header, rows))


# -- run folders ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunPaths:
    """The files of one run folder."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    config = property(lambda self: self.root / "config.yaml")
    metrics = property(lambda self: self.root / "metrics.csv")
    summary = property(lambda self: self.root / "summary.json")
    log = property(lambda self: self.root / "train.log")
    weights = property(lambda self: self.root / "weights")
    best = property(lambda self: self.root / "weights" / "best.safetensors")
    last = property(lambda self: self.root / "weights" / "last.safetensors")
    state = property(lambda self: self.root / "weights" / "last_state.safetensors")
    eval_dir = property(lambda self: self.root / "eval")
    plots = property(lambda self: self.root / "plots")

    def epoch_weights(self, epoch: int) -> Path:
        """weights/epoch_<N>.safetensors (trainer.checkpoint.save_every)."""
        return self.weights / f"epoch_{epoch}.safetensors"


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$")
_EPOCH_WEIGHTS = re.compile(r"^epoch_\d+" + re.escape(WEIGHTS_SUFFIX) + "$")
# what serialization's atomic writer leaves behind when killed mid-save (.<name>.<8 hex>.tmp),
# for the files a run writes; other files that look alike are not ours to delete
_RUN_TEMP = temp_name_pattern(r"config\.yaml|metrics\.csv|summary\.json|"
                              r"(?:best|last|last_state|epoch_\d+)\.safetensors")


def create_run_dir(root: str | Path, name: str, exist_ok: bool = False,
                   weights: bool = True) -> RunPaths:
    """Create `root/name` (or `name-2`, `name-3`, ... when taken) with its weights/ folder.

    With `exist_ok` the folder `root/name` is reused, emptied of the files an earlier run wrote
    there (see `clear_run_files`); other files stay. Creation uses mkdir, which fails if the
    folder appeared meanwhile, so two concurrent runs never share a folder. OSErrors are marked
    as failed writes (serialization.writing). The folder's lock is held only while it is
    prepared: a run that writes into it holds the lock throughout with `open_run_dir`.
    """
    with open_run_dir(root, name, exist_ok=exist_ok, weights=weights) as paths:
        return paths


@contextlib.contextmanager
def open_run_dir(root: str | Path, name: str, exist_ok: bool = False,
                 weights: bool = True) -> Iterator[RunPaths]:
    """`create_run_dir`, holding the folder's lock (RunLock) until the block ends.

    A second process opening the same folder meanwhile (with `exist_ok`, or `reopen_run_dir`)
    gets RunFolderBusyError naming the holder; without `exist_ok` it simply gets the next free
    name. A symbolic link at `root/name`, or where the old run's files are deleted, is refused
    (RunFolderError), never followed.
    """
    if not _NAME.match(name):
        raise UsageError(f"run name {name!r} is not a folder name (letters, digits, '.', '_', '-')")
    root = Path(root)
    with writing(root / name):
        root.mkdir(parents=True, exist_ok=True)
        if exist_ok:
            folder = root / name
            if os.path.islink(folder):  # mkdir(exist_ok) would accept a link to a folder
                raise link_error(folder, "remove the link, or choose another run name")
            folder.mkdir(exist_ok=True)
        else:
            folder = _claim_folder(root, name)
    lock = RunLock(folder).acquire()
    try:
        paths = RunPaths(folder)
        if exist_ok:
            clear_run_files(paths)
        if weights:
            with writing(paths.weights):
                paths.weights.mkdir(exist_ok=True)
        yield paths
    finally:
        lock.release()


def _claim_folder(root: Path, name: str) -> Path:
    """Make the first free folder of `name`, `name-2`, ...: mkdir is atomic, so of two
    processes asking at once each gets a folder of its own."""
    for i in range(1, 100_000):
        folder = root / (name if i == 1 else f"{name}-{i}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:  # (also a link or a file of that name: never reused)
            continue
    raise FileExistsError(f"too many runs named {name!r} in {root}")  # pragma: no cover


@contextlib.contextmanager
def reopen_run_dir(folder: str | Path) -> Iterator[RunPaths]:
    """Lock an existing run folder until the block ends (a resumed run's whole life).

    Refuses (RunFolderError) a folder that is a symbolic link or holds one where the run
    writes; removes the temporary files a save killed midway left (see `clear_stale_temps`).
    """
    folder = Path(folder)
    if os.path.islink(folder):
        raise link_error(folder, "pass the folder it points to instead")
    lock = RunLock(folder).acquire()
    try:
        paths = RunPaths(folder)
        _refuse_links(paths, clearing=False)
        clear_stale_temps(paths)
        yield paths
    finally:
        lock.release()


def clear_run_files(paths: RunPaths) -> None:
    """Delete what a run (and `torchlite eval`) writes into its folder: the config, metrics.csv,
    summary.json, train.log, weights/ best, last, training state and epoch_<N>, eval/, plots/,
    and the temporary files of killed saves.

    A fresh run reusing a folder (--exist-ok) must not mix with the old run: a stale best would
    be named in the new summary, loaded into the new model, and used by eval and infer. Files
    torchlite does not write (the user's) stay. A symbolic link at any of those paths is
    refused (RunFolderError) before anything is deleted.
    """
    _refuse_links(paths, clearing=True)
    clear_stale_temps(paths)
    files = [paths.config, paths.metrics, paths.summary, paths.log, paths.best, paths.last,
             paths.state]
    if paths.weights.is_dir():
        files += [f for f in paths.weights.iterdir() if _EPOCH_WEIGHTS.match(f.name)]
    for f in files:
        with writing(f), contextlib.suppress(FileNotFoundError):
            f.unlink()
    for folder in (paths.eval_dir, paths.plots):
        if folder.is_dir():  # (not a link: refused above)
            shutil.rmtree(folder)


def clear_stale_temps(paths: RunPaths) -> None:
    """Remove the atomic writer's temporary files of the run's files (`.best.safetensors.
    1a2b3c4d.tmp`, ...) that a process killed while saving left behind. Only regular files
    named so; call it with the folder locked, so no live save owns them."""
    for folder in (paths.root, paths.weights):
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            f = folder / name
            if not _RUN_TEMP.fullmatch(name):
                continue
            with writing(f), contextlib.suppress(FileNotFoundError):
                if stat.S_ISREG(os.lstat(f).st_mode):
                    os.unlink(f)


def _refuse_links(paths: RunPaths, clearing: bool) -> None:
    """RunFolderError for a symbolic link at the folder, its weights/ (and eval/ when
    `clearing`), or a file the run replaces, appends to or deletes."""
    folders = [paths.root, paths.weights] + ([paths.eval_dir, paths.plots] if clearing else [])
    files = [paths.config, paths.metrics, paths.summary, paths.log, paths.best, paths.last,
             paths.state]
    for p in folders + files:
        if os.path.islink(p):
            raise link_error(p)
    if paths.weights.is_dir():
        for f in paths.weights.iterdir():
            if _EPOCH_WEIGHTS.match(f.name) and f.is_symlink():
                raise link_error(f)


def write_config(paths: RunPaths, config: dict) -> Path:
    """Write the resolved config (plain data, e.g. `cfg.model_dump(mode='json')`) as YAML."""
    return atomic_write_text(paths.config, dump_yaml(json_safe(config)))


def write_summary(paths: RunPaths, summary: dict) -> Path:
    return atomic_write_json(paths.summary, summary)


def append_log(path: str | Path, message: str, timestamp: bool = True) -> None:
    """Append lines to a plain-text log (flushed; each line prefixed with local time). A
    symbolic link at `path` is refused (RunFolderError), never appended through."""
    prefix = time.strftime("%Y-%m-%d %H:%M:%S ") if timestamp else ""
    lines = "".join(f"{prefix}{line}\n" for line in str(message).splitlines() or [""])
    with writing(path):
        fd = open_no_follow(Path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()


# -- metrics.csv ----------------------------------------------------------------------------------
def metrics_header(metrics, has_val: bool = True) -> list[str]:
    """epoch, step, time_s, lr, train/loss, train/<metric>..., val/loss, val/<metric>..."""
    cols = ["epoch", "step", "time_s", "lr", "train/loss", *(f"train/{m}" for m in metrics)]
    if has_val:
        cols += ["val/loss", *(f"val/{m}" for m in metrics)]
    return cols


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, int):
        return str(int(value))
    if isinstance(value, float) or hasattr(value, "dtype"):
        return format(float(value), ".8g")
    return str(value)


class MetricsCSV:
    """metrics.csv with a fixed header, one row per epoch, rewritten atomically on each append.

    `MetricsCSV(path, header, resume_epoch=N)` keeps the rows of an existing file up to epoch N
    (a resumed run continues the same file); a file with another header is an error.
    `add` only adds a row, and `data()` gives the file's bytes, for a writer of one's own (the
    trainer's BackgroundWriter).
    """

    def __init__(self, path: str | Path, header: list[str], resume_epoch: int | None = None):
        self.path, self.header = Path(path), list(header)
        self.rows: list[dict[str, str]] = []
        if resume_epoch is not None and self.path.exists():
            try:
                with open(self.path, newline="", encoding="utf-8") as f:
                    reader = csv.DictReader(f)
                    if reader.fieldnames != self.header:
                        raise DataError(f"{self.path} has columns {reader.fieldnames}, expected "
                                        f"{self.header}")
                    self.rows = [r for r in reader
                                 if r["epoch"] and int(r["epoch"]) <= resume_epoch]
            except (UnicodeDecodeError, csv.Error, ValueError, TypeError) as exc:
                reason = f"not UTF-8 text ({exc.reason})" if isinstance(
                    exc, UnicodeDecodeError) else f"{type(exc).__name__}: {exc}"
                raise DataError(f"{self.path}: not a readable metrics.csv ({reason}); it holds "
                                "the run's earlier epochs, so the run cannot be continued "
                                "with it") from None
        # the file's text so far: each row is formatted once, not on every rewrite
        self._text = _csv_text(self.header, self.rows)

    def add(self, values: dict[str, Any]) -> None:
        """Add a row (keys from the header; missing ones left empty, unknown ones an error)
        without writing the file."""
        unknown = set(values) - set(self.header)
        if unknown:
            raise KeyError(f"not in the metrics.csv header: {sorted(unknown)}")
        row = {h: _fmt(values.get(h)) for h in self.header}
        self._text += _csv_text(self.header, [row], with_header=False)
        self.rows.append(row)

    def data(self) -> bytes:
        """The file's bytes: the header and every row."""
        return self._text.encode("utf-8")

    def append(self, values: dict[str, Any]) -> None:
        """Add a row (see `add`) and rewrite the file atomically."""
        self.add(values)
        atomic_write_bytes(self.path, self.data())


# -- finding runs and checkpoints -----------------------------------------------------------------
def run_dir_of(checkpoint: str | Path) -> Path:
    """The run folder of a checkpoint (`runs/x/weights/best.safetensors` -> `runs/x`)."""
    p = Path(checkpoint)
    return p.parent.parent if p.parent.name == "weights" else p.parent


def latest_run(root: str | Path = "runs") -> Path | None:
    """The most recent run under `root` with weights/best.safetensors (by that file's mtime)."""
    root = Path(root)
    if not root.is_dir():
        return None
    found = []
    for folder in root.iterdir():
        best = RunPaths(folder).best
        if folder.is_dir() and best.is_file():
            found.append((best.stat().st_mtime_ns, folder.name, folder))
    return max(found)[2] if found else None


def _final_weights(run: Path) -> str:
    """The run's trainer.final_weights (best or last), as recorded in its summary.json."""
    try:
        final = json.loads((run / "summary.json").read_text(encoding="utf-8"))["final_weights"]
        return "last" if final and Path(final).stem == "last" else "best"
    except (OSError, ValueError, KeyError, TypeError):
        return "best"


def resolve_checkpoint(arg: str | Path | None, root: str | Path = "runs",
                       prefer: str | None = None) -> Path:
    """A CHECKPOINT_OR_RUN argument -> a checkpoint file.

    A file is returned as is; a run folder (or its weights/ folder) gives weights/<prefer> (by
    default the run's trainer.final_weights), else the other of best/last; None gives the latest
    run under `root`. Raises CheckpointNotFoundError saying what was looked for.
    """
    if arg is None:
        run = latest_run(root)
        if run is None:
            raise CheckpointNotFoundError(
                f"no run with weights/best.safetensors under {root}/: train one first "
                "(torchlite train configs/digits_mlp.yaml) or pass a checkpoint")
        return RunPaths(run).best
    p = Path(arg)
    if p.is_file():
        return p
    if p.is_dir():
        weights = p if p.name == "weights" else p / "weights"
        prefer = prefer or _final_weights(weights.parent)
        order = [prefer, "last" if prefer == "best" else "best"]
        for name in order:
            if (weights / f"{name}{WEIGHTS_SUFFIX}").is_file():
                return weights / f"{name}{WEIGHTS_SUFFIX}"
        tried = ", ".join(str(weights / (n + WEIGHTS_SUFFIX)) for n in order)
        raise CheckpointNotFoundError(f"{p} holds no checkpoint (looked for {tried})")
    raise CheckpointNotFoundError(f"{p}: no such checkpoint file or run folder")
