"""Object collectives (all_gather_object, broadcast_object_list, gather_object) carrying JSON.

PyTorch pickles the objects; torchlite never unpickles anything, so objects must be JSON-safe
(None, bool, int, float, str, lists and dicts with string keys; tuples arrive as lists). They
travel as UTF-8 bytes in uint8 buffers over the group's host (MPI) transport.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .collectives import _group_rank, _guarded
from .process_group import ProcessGroup, group_of

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object"]


def _encode(obj: Any, what: str) -> np.ndarray:
    try:
        text = json.dumps(obj, allow_nan=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what}: torchlite sends JSON-safe objects only (never pickle): {exc}"
        ) from None
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _decode(buf: np.ndarray) -> Any:
    return json.loads(buf.tobytes().decode("utf-8"))


def _host(g: ProcessGroup):
    return g.transport.mpi if g.backend == "nccl" else g.transport


def _gather_bytes(g: ProcessGroup, payload: np.ndarray, what: str) -> list[np.ndarray]:
    host = _host(g)
    counts = np.empty(g.size(), dtype=np.int64)
    _guarded(what, host.allgather, np.array([payload.size], dtype=np.int64), counts)
    recv = np.empty(int(counts.sum()), dtype=np.uint8)
    _guarded(what, host.allgatherv, payload, recv, counts.tolist())
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [recv[bounds[i]:bounds[i + 1]] for i in range(g.size())]


def all_gather_object(object_list: list, obj: Any, group: ProcessGroup | None = None) -> None:
    """`object_list[i]` becomes rank i's `obj` (a JSON-safe object)."""
    g = group_of(group)
    if len(object_list) != g.size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} slots for a "
                         f"group of {g.size()} ranks")
    parts = _gather_bytes(g, _encode(obj, "all_gather_object"), "all_gather_object")
    for i, part in enumerate(parts):
        object_list[i] = _decode(part)


def gather_object(obj: Any, object_gather_list: list | None = None, dst: int = 0,
                  group: ProcessGroup | None = None) -> None:
    """Rank `dst` receives every rank's `obj` into `object_gather_list`."""
    g = group_of(group)
    root = _group_rank(g, dst, "gather_object: dst")
    parts = _gather_bytes(g, _encode(obj, "gather_object"), "gather_object")
    if g.rank() == root:
        if object_gather_list is None or len(object_gather_list) != g.size():
            raise ValueError(f"gather_object: rank {dst} needs a list of {g.size()} slots")
        for i, part in enumerate(parts):
            object_gather_list[i] = _decode(part)


def broadcast_object_list(object_list: list, src: int = 0, group: ProcessGroup | None = None,
                          device: Any = None) -> None:
    """Every rank's `object_list` becomes rank `src`'s (same length on every rank)."""
    g = group_of(group)
    root = _group_rank(g, src, "broadcast_object_list: src")
    host = _host(g)
    payload = _encode(list(object_list), "broadcast_object_list") if g.rank() == root else None
    size = np.array([0 if payload is None else payload.size], dtype=np.int64)
    _guarded("broadcast_object_list", host.broadcast, size, root)
    buf = payload.copy() if payload is not None else np.empty(int(size[0]), dtype=np.uint8)
    _guarded("broadcast_object_list", host.broadcast, buf, root)
    values = _decode(buf)
    if len(values) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(values)} objects to a "
                         f"list of {len(object_list)}")
    object_list[:] = values
