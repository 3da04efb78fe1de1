"""save/load of state dicts (and whole modules, see _module_file) as safetensors files, written
atomically, read with verification.

Differences from PyTorch's `torch.save`/`torch.load`, on purpose: no pickle, ever. `save` accepts a
state dict: a (nested) dict of tensors and JSON-able values (numbers, strings, bools, None, lists,
tuples, dicts). Tensors go in the safetensors body; everything else goes in the header's string
metadata as JSON. A flat dict of tensors (a model's state_dict) is stored under its own keys, so
`safetensors.torch.load_file` in PyTorch reads it directly, and `load` reads plain safetensors
files written by other tools.

Reading is as strict as the safetensors library (see _safetensors_header): a file it refuses
(a hole, an overlap or junk after the tensors, a header that is too large, not UTF-8 or nested
too deeply, ...) raises CheckpointError naming the file and the problem. `save` also stores a
SHA-256 digest of the data section and of the rest of the header under the metadata key
`torchlite_digest`; `load` and `read_metadata` verify it, so a bit flip that leaves the file
well-formed is reported as a corrupt file. Files without it (other tools, PyTorch) still load.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import re
import secrets

import numpy as np

from . import _bfloat16_io, _filekind, _module_file, _safetensors_write, backend
from . import _safetensors_header as sth
from ._atomic_write import (  # noqa: F401 (imported from here by the rest of torchlite)
    WRITE_ERROR_ATTR,
    atomic_write_bytes,
    is_write_error,
    stale_temp_files,
    temp_name_pattern,
    temp_path,
    writing,
)
from ._metadata_json import (  # noqa: F401 (malformed, parse_metadata_json: used by training)
    MAX_METADATA_DEPTH,
    describe,
    json_depth,
    malformed,
    parse_metadata_json,
    shorten,
)
from ._safe_globals import (  # noqa: F401 (torch.serialization's API, recorded only)
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ._safetensors_write import FileBytes
from .errors import CheckpointError, CheckpointNotFoundError
from .tensor import Tensor

FORMAT_VERSION = "1"
_META_KEY = "torchlite"
DIGEST_KEY = "torchlite_digest"
_DIGEST_ALGORITHM = "sha256"
_JSON_OBJECT_START = re.compile(rb"[ \t\n\r]*\{")
_MAX_SIZE = 2 ** 63 - 1  # NumPy's limit on an array's extent in bytes (the format's: 2**64 - 1)

# the safetensors dtypes torchlite has (BF16: see _bfloat16_io), as NumPy dtypes
_FROM_ST: dict[str, np.dtype] = {
    "F16": np.dtype(np.float16), "F32": np.dtype(np.float32), "F64": np.dtype(np.float64),
    "I8": np.dtype(np.int8), "U8": np.dtype(np.uint8), "I16": np.dtype(np.int16),
    "I32": np.dtype(np.int32), "I64": np.dtype(np.int64), "BOOL": np.dtype(np.bool_),
}


# ----------------------------------------------------------------------------------------------
# save


_JSON_SCALARS = frozenset((type(None), bool, int, float, str))


def _encode(obj, path: str, tensors: dict):
    """Replace tensors by references, recording them in `tensors`; return a JSON-able skeleton."""
    if type(obj) in _JSON_SCALARS:  # most of a training state: no other test can match them
        return obj
    if getattr(type(obj), "_sparse_layout", False):  # components as tensors (torchlite.sparse)
        from .sparse import files

        return files.encode(obj, path, lambda part, p: _encode(part, p, tensors))
    if _module_file.is_module(obj):  # a whole nn.Module: its tree, without pickle
        return _module_file.encode(obj, path, lambda v, p: _encode(v, p, tensors))
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
    """Write `obj` (a state dict) as a safetensors file to `f`: a path, or a binary file object.

    A path is written atomically (a temporary file renamed over it). A file object (anything with
    a `write` taking bytes, such as an open "wb" file or io.BytesIO) gets the same bytes at its
    current position, then is flushed and left open; no atomic rename is possible there, so an
    error midway leaves a partial file. A text-mode file raises TypeError.
    `metadata` adds string entries to the header (values that are not strings are stored as JSON;
    the keys 'torchlite' and 'torchlite_digest' are torchlite's own). The header also gets SHA-256
    digests of the tensor data and of the rest of the header, which `load` verifies.
    """
    to_object = _is_file_object(f, "write")
    if to_object:
        _check_binary(f, "save")
    parts = file_bytes(obj, metadata)()
    if to_object:
        _write_parts(f, parts)
    else:
        atomic_write_bytes(f, parts)


def file_bytes(obj, metadata: dict | None = None) -> FileBytes:
    """What `save(obj, f, metadata)` writes, with its digests left to compute when the result
    is called (see FileBytes); the tensors are copied now, so later changes do not reach it."""
    tensors: dict = {}
    flat = isinstance(obj, dict) and all(isinstance(k, str) for k in obj) and all(
        isinstance(v, Tensor) and not getattr(type(v), "_sparse_layout", False)
        for v in obj.values()
    )
    if flat:
        tensors = dict(obj)
        skeleton = None
    else:
        skeleton = _encode(obj, "", tensors)
    arrays = {}
    for name, t in tensors.items():
        arr = backend.to_host(t._data)
        arrays[name] = arr if arr.flags.c_contiguous else arr.copy()  # (keeps 0-d arrays 0-d)
    # "digest": load insists on the digest entry (a bit flip in its key would otherwise pass)
    info = {"version": FORMAT_VERSION, "skeleton": skeleton, "digest": _DIGEST_ALGORITHM}
    if flat:  # safetensors orders its header by dtype and name; load gives back the dict's order
        info["order"] = list(tensors)
    elif json_depth(info) > MAX_METADATA_DEPTH:  # never write a file that load refuses
        raise ValueError(f"save: the state is nested too deeply to store (its structure would "
                         f"nest more than {MAX_METADATA_DEPTH} levels of JSON, three per dict)")
    meta = {"format": "pt", _META_KEY: json.dumps(info)}
    for k, v in (metadata or {}).items():
        if str(k) in (_META_KEY, DIGEST_KEY):
            raise ValueError(f"save: metadata key '{k}' is reserved for torchlite's own use")
        meta[str(k)] = v if isinstance(v, str) else json.dumps(v)
    # The digests go into the header, before the data they cover, so the header is written
    # with placeholders of the digests' length, overwritten once they are known: no offset moves.
    holes = {"data": secrets.token_hex(32), "header": secrets.token_hex(32)}
    meta[DIGEST_KEY] = json.dumps({"algorithm": _DIGEST_ALGORITHM, **holes})
    head, data = _safetensors_write.encode(arrays, meta)
    return FileBytes(head, data, holes, _header_digest)


def _is_file_object(f, method: str) -> bool:
    """True for an object to call `method` on (a file object), False for a path."""
    return not isinstance(f, (str, bytes, os.PathLike)) and callable(getattr(f, method, None))


def _file_name(f) -> str:
    """How messages name a file object: its `name` when it has one (an open file's path), else
    its type ("<BytesIO>")."""
    name = getattr(f, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.fsdecode(name)
    return f"<{type(f).__name__}>"


def _check_binary(f, caller: str) -> None:
    """Refuse a text-mode file before anything is read or written: a checkpoint is bytes."""
    mode = getattr(f, "mode", None)
    if isinstance(f, io.TextIOBase) or (isinstance(mode, str) and "b" not in mode):
        raise TypeError(f"{caller}: {_file_name(f)} is open in text mode; a checkpoint is binary "
                        f"(open the file with '{'wb' if caller == 'save' else 'rb'}')")


def _write_parts(f, parts) -> None:
    """Write each buffer of `parts` whole to file object `f` (a raw file's write may take fewer
    bytes than given), then flush it."""
    with writing(_file_name(f)):
        for part in parts:
            view = memoryview(part)
            while view.nbytes:
                n = f.write(view)
                if not isinstance(n, int):  # (writers that return None took it all)
                    break
                if n <= 0:
                    raise OSError(errno.EIO, "the file object accepted no bytes")
                view = view[n:]
        flush = getattr(f, "flush", None)
        if callable(flush):
            flush()


def _header_digest(header: dict) -> str:
    """SHA-256 of the header's content less the digest entry, in a canonical JSON spelling
    (so that it does not depend on how a writer spaced or ordered the header)."""
    rest = dict(header)
    meta = rest.get(sth.METADATA)
    if isinstance(meta, dict):
        rest[sth.METADATA] = {k: v for k, v in meta.items() if k != DIGEST_KEY}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# ----------------------------------------------------------------------------------------------
# load


def _fail(path, msg):
    raise CheckpointError(f"{path}: {msg}")


def _corrupt(path, msg):
    raise CheckpointError(f"{path} is corrupt: {msg}")


def _not_safetensors(path, prefix: bytes, content: bytes | None = None) -> None:
    """Name a file of another kind for what it is (a pickle or PyTorch archive with how to
    convert it; a NumPy file, a config or other text); return for a file that may be a
    truncated or corrupt safetensors file, which read_header describes in detail. `content`:
    a file object's bytes (`path` then only names it)."""
    kind = _filekind.sniff(path, content)
    if kind in ("pickle", "pytorch") or (prefix[:1] == b"\x80" and kind == "unknown"):
        _fail(path, "this is a pickle or a PyTorch .pt/.pth archive, which torchlite never "
                    "unpickles (unsafe); convert it in PyTorch with "
                    "safetensors.torch.save_file(model.state_dict(), 'weights.safetensors')")
    if kind not in ("empty", "unknown", "safetensors"):
        _fail(path, f"not a safetensors checkpoint ({_filekind.describe(path, kind)})")


def _check_with_library(path) -> None:
    """The safetensors library's own verdict on the file (header and layout; it maps the file
    and reads no tensor). read_header's checks are meant to refuse all it refuses; this keeps
    that true should a later version of the library tighten its rules."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="numpy"):
            pass
    except SafetensorError as exc:
        _fail(path, f"the safetensors library refuses it ({exc})")


def _check_bytes_with_library(name: str, content: bytes) -> None:
    """`_check_with_library` for a file object's bytes, named `name`. The library opens only
    paths lazily; from memory it copies every tensor out, which is dropped at once."""
    from safetensors import SafetensorError, deserialize

    try:
        deserialize(content)
    except SafetensorError as exc:
        _fail(name, f"the safetensors library refuses it ({exc})")


def _read_file_object(f) -> tuple[str, bytes]:
    """The name and the bytes of file object `f` from its position to its end."""
    name = _file_name(f)
    _check_binary(f, "load")
    content = f.read()
    if isinstance(content, str):
        raise TypeError(f"load: {name} is open in text mode; a checkpoint is binary (open the "
                        "file with 'rb')")
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError(f"load: {name}.read() returned {type(content).__name__}, expected bytes")
    return name, bytes(content)  # (no copy for bytes)


def _open(f, with_data: bool) -> tuple[sth.Header, bytearray | None]:
    """Read and validate the header of a safetensors file (a path, or a binary file object read
    from its position to its end), then (with_data) its data section. For a path, each size is
    checked against the file before anything of that size is allocated."""
    content = None
    fh: io.BufferedIOBase
    if _is_file_object(f, "read"):
        path, content = _read_file_object(f)
        fh = io.BytesIO(content)  # (shares `content`, no copy)
        size = len(content)
    else:
        path = os.fspath(f)
        try:
            fh = open(path, "rb")
        except FileNotFoundError:
            raise CheckpointNotFoundError(f"{path}: no such checkpoint file") from None
        except IsADirectoryError:
            raise CheckpointError(f"{path}: is a folder, expected a .safetensors file") from None
        size = os.fstat(fh.fileno()).st_size
    with fh:
        prefix = fh.read(8)
        try:
            n = sth.header_length(prefix, size)
        except sth.HeaderError as exc:
            # A safetensors header is JSON right after its 8-byte length (whose first byte may
            # then look like a pickle's 0x80 or a zip's "PK"); other files are named for what
            # they are.
            _not_safetensors(path, prefix, content)
            _fail(path, str(exc))
        raw = fh.read(n)
        if len(raw) != n:
            _fail(path, "file shrank while being read (truncated?)")
        if not _JSON_OBJECT_START.match(raw):
            _not_safetensors(path, prefix, content)
        data_size = size - 8 - n
        try:
            header = sth.parse(raw, data_size)
        except sth.HeaderError as exc:
            _fail(path, str(exc))
        if content is None:
            _check_with_library(path)
        else:
            _check_bytes_with_library(path, content)
        digest = _stored_digest(path, header)
        if digest is not None and digest["header"] != _header_digest(header.json):
            _corrupt(path, "its header does not match the SHA-256 digest saved with it (the "
                           "metadata or the tensor table changed after it was written)")
        if not with_data:
            return header, None
        for t in header.tensors:  # what the format allows and torchlite cannot hold
            if t.dtype not in _FROM_ST and t.dtype != "BF16":
                _fail(path, f"tensor '{t.name}' has dtype {t.dtype}, which torchlite does not "
                            "support (unsupported dtype)")
            # (only a tensor with no elements gets here with such a shape)
            itemsize = _bfloat16_io.itemsize() if t.dtype == "BF16" else _FROM_ST[t.dtype].itemsize
            if math.prod(s for s in t.shape if s) * itemsize > _MAX_SIZE:
                _fail(path, f"tensor '{t.name}' has a shape {t.shape} too large for NumPy "
                            "(its nonzero dimensions span more than 2**63 - 1 bytes)")
        data = bytearray(data_size)  # (writable: the tensors are views of it)
        if fh.readinto(data) != data_size:
            _fail(path, "file shrank while being read (truncated?)")
    if digest is not None and hashlib.sha256(data).hexdigest() != digest["data"]:
        _corrupt(path, "its tensor data does not match the SHA-256 digest saved with it (a "
                       "changed bit on disk or in transfer?)")
    return header, data


def _stored_digest(path, header: sth.Header) -> dict | None:
    """The digests `save` stored, or None for a file written without (by another tool, or by
    an older torchlite); a file whose torchlite entry says it has one must have it."""
    meta = header.metadata or {}
    raw = meta.get(DIGEST_KEY)
    if raw is None:
        try:
            info = parse_metadata_json(path, meta.get(_META_KEY, "{}"), _META_KEY)
        except CheckpointError:
            return None  # load reports the broken entry itself
        if isinstance(info, dict) and "digest" in info:
            _corrupt(path, f"its digest entry '{DIGEST_KEY}' is missing")
        return None
    try:
        digest = parse_metadata_json(path, raw, DIGEST_KEY)
    except CheckpointError:
        digest = None
    if not (isinstance(digest, dict) and digest.get("algorithm") == _DIGEST_ALGORITHM
            and all(isinstance(digest.get(k), str) for k in ("data", "header"))):
        _corrupt(path, f"its digest entry '{DIGEST_KEY}' is unreadable")
    return digest


def read_header(path) -> sth.Header:
    """The validated header of a safetensors file, its digest verified (no tensor is read)."""
    return _open(path, with_data=False)[0]


def read_metadata(path) -> dict:
    """The string metadata of a safetensors file (verified, without loading tensors)."""
    return dict(read_header(path).metadata or {})


def _array(data: bytearray, t) -> np.ndarray:
    if t.dtype == "BF16":
        return _bfloat16_io.read(data, t)
    npdt = _FROM_ST[t.dtype]
    little = npdt.newbyteorder("<") if npdt.itemsize > 1 else npdt
    arr = np.frombuffer(data, dtype=little, count=(t.end - t.begin) // npdt.itemsize,
                        offset=t.begin).reshape(t.shape)
    if not arr.flags.aligned or not arr.dtype.isnative:  # else a view of `data`, no copy
        arr = arr.astype(npdt)
    return arr


def load(f, map_location=None, weights_only: bool = True, mmap=None):
    """Read a file written by `save` (or any safetensors file) back into tensors and values.

    `f` is a path or a binary file object (anything with a `read` returning bytes, such as an
    open "rb" file or io.BytesIO), read from its current position to its end; a text-mode file
    raises TypeError. Never unpickles, whatever `weights_only` says (`mmap` is ignored too): a
    pickle or `.pt` archive raises CheckpointError with how to convert it. A file the
    safetensors library would refuse, or whose stored digest does not match, raises
    CheckpointError naming the file (a file object by its `name`, else its type).
    A file holding whole modules (`save(model, f)`) loads with `weights_only=False`, from classes
    already imported (see _module_file); with `weights_only=True` it raises PyTorch's
    UnpicklingError unless `add_safe_globals` allowed every class.
    """
    path = _file_name(f) if _is_file_object(f, "read") else os.fspath(f)
    header, data = _open(f, with_data=True)
    assert data is not None
    dev = backend.to_device(map_location) if map_location not in (None, "cpu") else backend.CPU
    tensors = {}
    for t in header.tensors:
        tensors[t.name] = Tensor._make(backend.move(_array(data, t), dev), dev)
    meta = header.metadata or {}
    raw = meta.get(_META_KEY)
    if raw is None:
        return tensors
    info = parse_metadata_json(path, raw, _META_KEY)
    if not isinstance(info, dict):
        raise malformed(path, f"the '{_META_KEY}' entry is {describe(info)}, expected a JSON "
                              "object")
    skeleton = info.get("skeleton")
    if skeleton is None:
        order = info.get("order")
        if order is None:
            return tensors
        if not isinstance(order, list) or not all(isinstance(k, str) for k in order):
            raise malformed(path, f"'order' is {describe(order)}, expected a list of tensor names")
        # (names that are not the file's tensors, as after another tool added one: header order)
        if sorted(order) == sorted(tensors):
            return {k: tensors[k] for k in order}  # the saved dict's order, as torch.load
        return tensors
    if weights_only:  # a whole module: refused as torch.load refuses one, unless allowed
        _module_file.refuse_weights_only(_module_file.classes(skeleton, []))
    return _decode(skeleton, tensors, path)


def _decode(node, tensors, path):
    """The value that `_encode` turned into `node`, its tensors taken from `tensors`. The
    nesting is bounded by parse_metadata_json, so the recursion is too."""
    if isinstance(node, dict):
        if "__tensor__" in node:
            name = node["__tensor__"]
            if not isinstance(name, str):
                raise malformed(path, f"a '__tensor__' reference is {describe(name)}, expected a "
                                      "tensor name")
            if name not in tensors:
                raise malformed(path, f"it refers to a missing tensor '{shorten(name)}'")
            return tensors[name]
        if "__dict__" in node:
            pairs = node["__dict__"]
            if not isinstance(pairs, list):
                raise malformed(path, f"a '__dict__' entry is {describe(pairs)}, expected a list "
                                      "of [key, value] pairs")
            for pair in pairs:
                if not (isinstance(pair, list) and len(pair) == 2
                        and isinstance(pair[0], (str, int)) and not isinstance(pair[0], bool)):
                    raise malformed(path, f"a '__dict__' entry holds {describe(pair)}, expected a "
                                          "[key, value] pair with a string or integer key")
            return {k: _decode(v, tensors, path) for k, v in pairs}
        if "__tuple__" in node:
            items = node["__tuple__"]
            if not isinstance(items, list):
                raise malformed(path, f"a '__tuple__' entry is {describe(items)}, expected a list")
            return tuple(_decode(v, tensors, path) for v in items)
        if "__module__" in node:
            return _module_file.decode(node["__module__"], lambda v: _decode(v, tensors, path),
                                       lambda msg: malformed(path, msg))
        if "__sparse__" in node:
            from .sparse import files

            return files.decode(node["__sparse__"], lambda part: _decode(part, tensors, path),
                                lambda msg: malformed(path, msg))
        raise malformed(path, "an object in the skeleton is none of __tensor__, __dict__ or "
                              "__tuple__")
    if isinstance(node, list):
        return [_decode(v, tensors, path) for v in node]
    return node
