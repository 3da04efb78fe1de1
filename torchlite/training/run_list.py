"""Runs as a collection: `list_runs` (what `torchlite runs` shows) and `compare_runs` (the
config differences and metrics of several runs, side by side, for `torchlite compare`).

Both read only a run folder's own small files (config.yaml, summary.json, metrics.csv): no model
is built and no weights are loaded, so listing a folder of many runs stays quick.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torchlite.errors import CheckpointNotFoundError

from .loader import ConfigError, load_yaml
from .runs import RunPaths, run_dir_of

__all__ = ["compare_runs", "list_runs", "run_record"]


def _summary(paths: RunPaths) -> dict:
    try:
        data = json.loads(paths.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _config(paths: RunPaths) -> dict:
    try:
        data, _ = load_yaml(paths.config.read_text(encoding="utf-8"), str(paths.config))
    except (OSError, ValueError, ConfigError):
        return {}
    return data if isinstance(data, dict) else {}


def _created(paths: RunPaths) -> str | None:
    try:
        stamp = paths.config.stat().st_mtime
    except OSError:
        return None
    return _dt.datetime.fromtimestamp(stamp).isoformat(timespec="seconds")


def run_record(folder: str | Path) -> dict[str, Any]:
    """One run: name, folder, status, best metric and epoch, test metrics, duration, created."""
    paths = RunPaths(Path(folder))
    s = _summary(paths)
    status = s.get("status") or ("unknown" if paths.config.is_file() else "not a run")
    if status == "running" and not _locked(paths):
        status = "stopped"  # its process ended without a last word: killed, or a power cut
    return {
        "name": paths.root.name, "path": str(paths.root), "status": status,
        "stop_reason": s.get("stop_reason"), "epochs": s.get("epochs_completed"),
        "monitor": s.get("monitor"), "best_value": s.get("best_value"),
        "best_epoch": s.get("best_epoch"), "test_metrics": s.get("test_metrics") or {},
        # a running run's summary is the one written at its start: no duration yet
        "duration_s": None if status == "running" else s.get("wall_time_s"),
        "created": _created(paths),
    }


def _locked(paths: RunPaths) -> bool:
    """Whether the process named in the run folder's lock file is alive on this host (the file
    is removed when a run ends; one killed outright leaves it, naming a dead process). The lock
    itself is not tried: that could refuse a `train --resume` starting at the same moment."""
    import os
    import socket

    try:
        holder = json.loads((paths.root / ".lock").read_text(encoding="utf-8"))
        pid, host = int(holder["pid"]), holder.get("host")
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if host != socket.gethostname():
        return True  # another machine's run on a shared disk: take its word
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, owned by another user
        return True
    return True


def list_runs(root: str | Path = "runs") -> list[dict[str, Any]]:
    """Every run folder (a folder with config.yaml) directly under `root`, oldest first."""
    root = Path(root)
    if not root.is_dir():
        raise CheckpointNotFoundError(f"{root}: no such runs folder")
    found = [run_record(p) for p in sorted(root.iterdir())
             if p.is_dir() and not p.is_symlink() and (p / "config.yaml").is_file()]
    return sorted(found, key=lambda r: (r["created"] or "", r["name"]))


def _run_folder(arg: str | Path, root: str | Path) -> Path:
    p = Path(arg)
    if p.is_file():
        p = run_dir_of(p) if p.parent.name == "weights" else p.parent
    elif not p.exists() and (Path(root) / p).is_dir():
        p = Path(root) / p
    if not (p / "config.yaml").is_file():
        raise CheckpointNotFoundError(f"{arg}: not a run folder (no config.yaml in {p}), nor "
                                      f"a run name under {root}/")
    return p


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{'optimizer.lr': 0.01, 'model.layers.0.type': 'Linear', ...}"""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list) and any(isinstance(v, (dict, list)) for v in data):
        items = enumerate(data)
    else:
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in items:
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


# Keys that differ between any two runs without saying anything about them.
_SAME_BY_NATURE = {"name", "output.root"}


def compare_runs(runs: Sequence[str | Path], root: str | Path = "runs") -> dict[str, Any]:
    """The config keys whose values differ between `runs` (a key missing from a run is None
    there) and their metrics side by side: status, epochs, best value and epoch, the last
    epoch's metrics, test metrics and duration."""
    folders = [_run_folder(r, root) for r in runs]
    names = [f.name for f in folders]
    if len(set(names)) < len(names):  # runs of two roots with one name: tell them apart
        names = [str(f) for f in folders]
    configs = [_flatten(_config(RunPaths(f))) for f in folders]
    keys = sorted(set().union(*configs) - _SAME_BY_NATURE)
    differences = [{"key": k, "values": [c.get(k) for c in configs]} for k in keys
                   if len({json.dumps(c.get(k), sort_keys=True, default=str)
                           for c in configs}) > 1]
    records = [run_record(f) for f in folders]
    summaries = [_summary(RunPaths(f)) for f in folders]
    rows: dict[str, list] = {}

    def add(label: str, values: list) -> None:
        if any(v is not None for v in values):
            rows[label] = values

    for key in ("status", "epochs", "best_epoch", "duration_s"):
        add(key, [r[key] for r in records])
    monitors = {r["monitor"] for r in records if r["monitor"]}
    label = f"best {monitors.pop()}" if len(monitors) == 1 else "best (monitor)"
    add(label, [r["best_value"] for r in records])
    for source in ("final_metrics", "test_metrics"):
        columns = sorted({k for s in summaries for k in (s.get(source) or {})
                          if "/" in k})
        for col in columns:
            name = col if source == "test_metrics" else f"last {col}"
            add(name, [(s.get(source) or {}).get(col) for s in summaries])
    return {"runs": names, "paths": [str(f) for f in folders], "config_differences": differences,
            "metrics": [{"metric": k, "values": v} for k, v in rows.items()]}
