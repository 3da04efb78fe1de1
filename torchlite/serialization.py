"""save/load of state dicts as safetensors files, written atomically, read with verification.

Differences from PyTorch's `torch.save`/`torch.load`, on purpose: no pickle, ever. `save` accepts a
state dict: a (nested) dict of tensors and JSON-able values (numbers, strings, bools, None, lists,
tuples, dicts). Tensors go in the safetensors body; everything else goes in the header's string
metadata as JSON. A flat dict of tensors (a model's state_dict) is stored under its own keys, so
`safetensors.torch.load_file` in PyTorch reads it directly, and `load` reads plain safetensors
files written by other tools.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
import struct
from pathlib import Path

import numpy as np

from . import _filekind, backend
from .errors import CheckpointError, CheckpointNotFoundError
from .tensor import Tensor

FORMAT_VERSION = "1"
_META_KEY = "torchlite"
_MAX_HEADER = 100 * 1024 * 1024

_TO_ST = {
    np.dtype(np.float16): "F16", np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
    np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8", np.dtype(np.int16): "I16",
    np.dtype(np.int32): "I32", np.dtype(np.int64): "I64", np.dtype(np.bool_): "BOOL",
}
_FROM_ST = {v: k for k, v in _TO_ST.items()}


# ----------------------------------------------------------------------------------------------
# save


def _encode(obj, path: str, tensors: dict):
    """Replace tensors by references, recording them in `tensors`; return a JSON-able skeleton."""
    if isinstance(obj, (Tensor, np.ndarray)) or backend.get_xp(obj) is not np:
        name, k = path, 1
        while name in tensors:  # {"a/b": x, "a": {"b": y}} and {1: x, "1": y} map to one path
            name, k = f"{path}#{k}", k + 1
        # a raw array (NumPy, or CuPy on a GPU) is stored like a tensor of its device
        tensors[name] = obj if isinstance(obj, Tensor) else Tensor._make(
            obj, backend.array_device(obj))
        return {"__tensor__": name}
    if isinstance(obj, dict):
        return {"__dict__": [[_key(k), _encode(v, f"{path}/{k}" if path else str(k), tensors)]
                             for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (backend.dtype, backend.device)):
        return str(obj)
    raise TypeError(
        f"save: can't store a value of type {type(obj).__name__} at '{path}': torchlite.save "
        "writes tensors and JSON-able values (numbers, strings, lists, dicts), never pickles"
    )


def _key(k):
    if isinstance(k, (str, int)) and not isinstance(k, bool):
        return k
    raise TypeError(f"save: dict keys must be strings or ints, got {type(k).__name__}")


def save(obj, f, metadata: dict | None = None) -> None:
    """Write `obj` (a state dict) to path `f` as a safetensors file, atomically.

    `metadata` adds string entries to the header (values that are not strings are stored as JSON).
    """
    from safetensors.numpy import save as st_save

    tensors: dict = {}
    flat = isinstance(obj, dict) and all(isinstance(k, str) for k in obj) and all(
        isinstance(v, Tensor) for v in obj.values()
    )
    if flat:
        tensors = dict(obj)
        skeleton = None
    else:
        skeleton = _encode(obj, "", tensors)
    arrays = {}
    for name, t in tensors.items():
        arr = backend.move(t._data, backend.CPU)
        arrays[name] = arr if arr.flags.c_contiguous else arr.copy()  # (keeps 0-d arrays 0-d)
    info = {"version": FORMAT_VERSION, "skeleton": skeleton}
    if flat:  # safetensors orders its header by dtype and name; load gives back the dict's order
        info["order"] = list(tensors)
    meta = {"format": "pt", _META_KEY: json.dumps(info)}
    for k, v in (metadata or {}).items():
        meta[str(k)] = v if isinstance(v, str) else json.dumps(v)
    data = st_save(arrays, metadata=meta)
    atomic_write_bytes(f, data)


WRITE_ERROR_ATTR = "torchlite_writing"


def is_write_error(exc: BaseException) -> bool:
    """True for an OSError raised while torchlite wrote a file (see `writing`)."""
    return isinstance(exc, OSError) and getattr(exc, WRITE_ERROR_ATTR, None) is not None


@contextlib.contextmanager
def writing(path):
    """Mark an OSError raised inside as a failure to write `path`.

    The exception keeps its type (a PermissionError stays one); it records `path` in
    `exc.torchlite_writing`, and as its filename when the OS named none (a failed write() or
    fsync() on a descriptor names no file). The CLI tells failed writes from unreadable inputs
    by this mark, since both raise the same OSError subclasses.
    """
    try:
        yield
    except OSError as exc:
        if getattr(exc, WRITE_ERROR_ATTR, None) is None:
            setattr(exc, WRITE_ERROR_ATTR, os.fspath(path))
        if exc.filename is None and exc.errno is not None:  # (without errno str() would change)
            exc.filename = os.fspath(path)
        raise


def _create_temp(path: Path) -> tuple[int, str]:
    """A new temporary file beside `path`. Created with mode 0o666, so the umask applies as with
    open() (tempfile.mkstemp would make it 0o600 whatever the umask)."""
    for _ in range(100):
        tmp = os.fspath(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                           0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.fspath(path))


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write to a temporary file in the same folder, fsync, then rename over `path`.

    A crash at any instant leaves either the old file or the new one, never a partial file. A new
    file gets the mode open() would give (0o666 less the umask); a replaced file keeps its mode.
    OSErrors name `path` (not the temporary file) and are marked by `writing`.
    """
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            old_mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            old_mode = None
        try:
            fd, tmp = _create_temp(path)
        except OSError as exc:
            exc.filename = os.fspath(path)
            raise
        try:
            with os.fdopen(fd, "wb") as fh:
                if old_mode is not None:
                    os.chmod(tmp, old_mode)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError) and exc.filename == tmp:  # os.replace: tmp -> path
                exc.filename, exc.filename2 = os.fspath(path), None
            raise
    # make the rename itself durable (POSIX; not possible, nor needed, on Windows)
    with contextlib.suppress(OSError, AttributeError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path


# ----------------------------------------------------------------------------------------------
# load


def _fail(path, msg):
    raise CheckpointError(f"{path}: {msg}")


def _not_safetensors(path, buf: bytearray) -> None:
    """Name a file of another kind for what it is (a pickle or PyTorch archive with how to
    convert it; a NumPy file, a config or other text); return for a file that may be a
    truncated or corrupt safetensors file, which read_header describes in detail."""
    kind = _filekind.sniff(path)
    if kind in ("pickle", "pytorch") or (buf[:1] == b"\x80" and kind == "unknown"):
        _fail(path, "this is a pickle or a PyTorch .pt/.pth archive, which torchlite never "
                    "unpickles (unsafe); convert it in PyTorch with "
                    "safetensors.torch.save_file(model.state_dict(), 'weights.safetensors')")
    if kind not in ("empty", "unknown", "safetensors"):
        _fail(path, f"not a safetensors checkpoint ({_filekind.describe(path, kind)})")


def read_header(path) -> tuple[dict, int, bytearray]:
    """Read and verify a safetensors file: returns (header, data start, whole file)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            buf = bytearray(os.fstat(fh.fileno()).st_size)
            fh.readinto(buf)
    except FileNotFoundError:
        raise CheckpointNotFoundError(f"{path}: no such checkpoint file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, expected a .safetensors file") from None
    (n,) = struct.unpack("<Q", bytes(buf[:8])) if len(buf) >= 8 else (0,)
    # A safetensors header is JSON right after its 8-byte length (whose first byte may then
    # look like a pickle's 0x80 or a zip's "PK"); a file without one is named for what it is.
    if not (len(buf) > 8 and 8 + n <= len(buf) and buf[8:9] == b"{"):
        _not_safetensors(path, buf)
    if len(buf) < 8:
        _fail(path, f"file is too short to be safetensors ({len(buf)} bytes; truncated?)")
    if n > _MAX_HEADER or 8 + n > len(buf):
        _fail(path, f"header size {n} does not fit in a file of {len(buf)} bytes "
                    "(truncated or not a safetensors file)")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(path, f"corrupted header ({exc})")
    if not isinstance(header, dict):
        _fail(path, "corrupted header (not a JSON object)")
    start = 8 + n
    size = len(buf) - start
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                _fail(path, "corrupted header: __metadata__ must map strings to strings")
            continue
        try:
            dt, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            _fail(path, f"corrupted header entry for tensor '{name}'")
        if dt not in _FROM_ST and dt != "BF16":
            _fail(path, f"tensor '{name}' has unsupported dtype {dt!r}")
        if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            _fail(path, f"tensor '{name}' has an invalid shape {shape!r}")
        itemsize = 2 if dt == "BF16" else _FROM_ST[dt].itemsize
        expect = int(np.prod(shape, dtype=np.int64)) * itemsize
        if not (isinstance(b, int) and isinstance(e, int) and 0 <= b <= e <= size):
            _fail(path, f"tensor '{name}' has data offsets [{b}, {e}] outside the data section "
                        f"of {size} bytes (truncated?)")
        if e - b != expect:
            _fail(path, f"tensor '{name}' of shape {shape} and dtype {dt} needs {expect} bytes "
                        f"but its offsets span {e - b}")
        spans.append((b, e, name))
    spans.sort()
    for (_, e0, n0), (b1, _, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            _fail(path, f"tensors '{n0}' and '{n1}' overlap in the data section")
    return header, start, buf


def read_metadata(path) -> dict:
    """The string metadata of a safetensors file (verified, without loading tensors)."""
    header, _, _ = read_header(path)
    return dict(header.get("__metadata__") or {})


def _array(buf, start, info):
    dt, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
    if dt == "BF16":  # bfloat16 is the top half of a float32
        raw = np.frombuffer(buf, dtype="<u2", count=(e - b) // 2, offset=start + b)
        return (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    npdt = _FROM_ST[dt].newbyteorder("<") if _FROM_ST[dt].itemsize > 1 else _FROM_ST[dt]
    count = (e - b) // npdt.itemsize
    arr = np.frombuffer(buf, dtype=npdt, count=count, offset=start + b).reshape(shape)
    if not arr.flags.aligned or arr.dtype.byteorder not in "=|":
        arr = arr.astype(_FROM_ST[dt])
    return arr


def load(f, map_location=None, weights_only: bool = True, mmap=None):
    """Read a file written by `save` (or any safetensors file) back into tensors and values.

    Never unpickles: a pickle or `.pt` archive raises CheckpointError with how to convert it.
    """
    path = os.fspath(f)
    header, start, buf = read_header(path)
    dev = backend.to_device(map_location) if map_location not in (None, "cpu") else backend.CPU
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        arr = _array(buf, start, info)
        tensors[name] = Tensor._make(backend.move(arr, dev), dev)
    meta = header.get("__metadata__") or {}
    raw = meta.get(_META_KEY)
    if raw is None:
        return tensors
    try:
        info = json.loads(raw)
        skeleton = info.get("skeleton")
    except (json.JSONDecodeError, AttributeError) as exc:
        _fail(path, f"corrupted torchlite metadata ({exc})")
    if skeleton is None:
        order = info.get("order")
        if isinstance(order, list) and sorted(map(str, order)) == sorted(tensors):
            return {k: tensors[k] for k in order}  # the saved dict's order, as torch.load
        return tensors
    return _decode(skeleton, tensors, path)


def _decode(node, tensors, path):
    if isinstance(node, dict):
        if "__tensor__" in node:
            name = node["__tensor__"]
            if name not in tensors:
                _fail(path, f"metadata refers to a missing tensor '{name}'")
            return tensors[name]
        if "__dict__" in node:
            return {k: _decode(v, tensors, path) for k, v in node["__dict__"]}
        if "__tuple__" in node:
            return tuple(_decode(v, tensors, path) for v in node["__tuple__"])
        _fail(path, "corrupted torchlite metadata (unknown node)")
    if isinstance(node, list):
        return [_decode(v, tensors, path) for v in node]
    return node
