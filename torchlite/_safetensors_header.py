"""A safetensors header, parsed and validated as strictly as the safetensors library does it.

The library (Rust, serde_json) is the format's reference reader, and PyTorch reads checkpoints
through it. A file it refuses must not load in torchlite and a file it accepts must read to the
same tensors, so that two readers never see two different models in one file (two files
concatenated, a file truncated and then appended to, a name given twice). `parse` applies the
library's rules to the header bytes with messages that name the tensor and the problem;
tests/reliability/test_checkpoint_corpus.py checks that both verdicts agree over a generated
corpus. On purpose, torchlite is stricter in one place: a tensor name or metadata key given
twice is refused (the library keeps the last one; another reader may keep the first).

All size arithmetic is in Python integers, with the library's 64-bit limits, and happens before
anything is allocated for the data.
"""

from __future__ import annotations

import json
import math

MAX_HEADER = 100_000_000  # the library's limit on the header's length, in bytes
_MAX_DEPTH = 127  # the deepest JSON nesting the library's parser accepts (the whole header is 1)
_USIZE = 1 << 64
METADATA = "__metadata__"

# every dtype the format (the library) knows, with its size in bits
DTYPE_BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}
_FIELDS = ("dtype", "shape", "data_offsets")


class HeaderError(ValueError):
    """What is wrong with a header, in words (the caller adds the file's name)."""


class _Obj(dict):
    """A JSON object that remembers its keys given more than once and how deep it nests."""

    __slots__ = ("dups", "depth")
    dups: set | None
    depth: int


class TensorEntry:
    __slots__ = ("name", "dtype", "shape", "begin", "end")

    def __init__(self, name: str, dtype: str, shape: list, begin: int, end: int) -> None:
        self.name, self.dtype, self.shape, self.begin, self.end = name, dtype, shape, begin, end


class Header:
    """A validated header: its tensors in header order, its string metadata (or None), and the
    parsed JSON (for the digest)."""

    __slots__ = ("tensors", "metadata", "json")

    def __init__(self, tensors: list, metadata: dict | None, obj: dict) -> None:
        self.tensors, self.metadata, self.json = tensors, metadata, obj


def _has_surrogate(s: str) -> bool:
    # a lone \\udXXX escape decodes to a surrogate in Python; serde_json refuses it
    if s.isascii():
        return False
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _list_depth(value: list) -> int:
    """Nesting depth of a JSON array (1 for a flat one), checking its strings on the way."""
    if all(type(x) is int for x in value):  # shapes and offsets
        return 1
    depth, stack = 1, [(value, 1)]
    while stack:
        items, d = stack.pop()
        depth = max(depth, d)
        for x in items:
            t = type(x)
            if t is list:
                stack.append((x, d + 1))
            elif t is _Obj:
                depth = max(depth, d + x.depth)
            elif t is str and _has_surrogate(x):
                raise HeaderError("corrupted header (a lone UTF-16 surrogate in a string)")
    return depth


def _object(pairs: list) -> _Obj:
    obj = _Obj(pairs)
    obj.dups = None
    if len(obj) != len(pairs):
        seen: set = set()
        obj.dups = set()
        for k, _ in pairs:
            (obj.dups if k in seen else seen).add(k)
    depth = 0
    for k, v in pairs:
        if not k.isascii() and _has_surrogate(k):
            raise HeaderError("corrupted header (a lone UTF-16 surrogate in a string)")
        t = type(v)
        if t is _Obj:
            if v.depth > depth:
                depth = v.depth
        elif t is list:
            d = _list_depth(v)
            if d > depth:
                depth = d
        elif t is str and not v.isascii() and _has_surrogate(v):
            raise HeaderError("corrupted header (a lone UTF-16 surrogate in a string)")
    obj.depth = depth + 1
    return obj


def _constant(name: str):
    raise HeaderError(f"corrupted header ({name} is not JSON)")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise HeaderError(f"corrupted header (number {text[:20]}... out of range)")
    return value


def _int(text: str):
    if text == "-0":  # serde_json reads -0 as the float -0.0
        return -0.0
    # past 1.8e308 (309 digits) serde_json gives up: "number out of range"
    if len(text) > 308 and math.isinf(float(text)):
        raise HeaderError(f"corrupted header (number {text[:20]}... out of range)")
    return int(text)


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant,
                            parse_float=_float, parse_int=_int)


def _entry(name: str, info) -> TensorEntry:
    if type(info) is _Obj:
        missing = [f for f in _FIELDS if f not in info]
        twice = [f for f in _FIELDS if info.dups and f in info.dups]
        if missing or twice:
            what = f"lacks {missing[0]!r}" if missing else f"gives {twice[0]!r} twice"
            raise HeaderError(f"corrupted header entry for tensor '{name}' ({what})")
        dt, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    elif type(info) is list and len(info) == 3:  # serde also reads a struct from an array
        dt, shape, offsets = info
    else:
        raise HeaderError(f"corrupted header entry for tensor '{name}' (not an object)")
    if type(dt) is _Obj and len(dt) == 1 and not dt.dups:  # serde's {"F32": null} spelling
        ((dt, unit),) = dt.items()
        if unit is not None:
            raise HeaderError(f"tensor '{name}' has an invalid dtype")
    if type(dt) is not str or dt not in DTYPE_BITS:
        raise HeaderError(f"tensor '{name}' has unsupported dtype {dt!r}")
    if type(shape) is not list or not all(type(s) is int and 0 <= s < _USIZE for s in shape):
        raise HeaderError(f"tensor '{name}' has an invalid shape {shape!r}")
    if type(offsets) is not list or len(offsets) != 2 or not all(
            type(o) is int and 0 <= o < _USIZE for o in offsets):
        raise HeaderError(f"tensor '{name}' has invalid data offsets {offsets!r}")
    return TensorEntry(name, dt, shape, offsets[0], offsets[1])


def _nbytes(t: TensorEntry) -> int:
    """The tensor's size in bytes, refusing what overflows the library's 64-bit arithmetic."""
    count = 1
    for s in t.shape:
        count *= s
        if count >= _USIZE:
            raise HeaderError(f"tensor '{t.name}' of shape {t.shape} has more elements than "
                              "the format can count (2**64)")
    bits = count * DTYPE_BITS[t.dtype]
    if bits >= _USIZE:
        raise HeaderError(f"tensor '{t.name}' of shape {t.shape} and dtype {t.dtype} is larger "
                          "than the format can count (2**64 bits)")
    if bits % 8:
        raise HeaderError(f"tensor '{t.name}' of shape {t.shape} and dtype {t.dtype} does not "
                          "end on a byte boundary")
    return bits // 8


def header_length(prefix: bytes, file_size: int) -> int:
    """The header's length from the file's first 8 bytes, checked against the file's size."""
    if file_size < 8:
        raise HeaderError(f"file is too short to be safetensors ({file_size} bytes; truncated?)")
    n = int.from_bytes(prefix[:8], "little")
    if n > MAX_HEADER:
        raise HeaderError(f"header size {n} is larger than the format allows ({MAX_HEADER} "
                          "bytes; truncated, corrupt or not a safetensors file)")
    if 8 + n > file_size:
        raise HeaderError(f"header size {n} does not fit in a file of {file_size} bytes "
                          "(truncated or not a safetensors file)")
    return n


def parse(raw: bytes, data_size: int) -> Header:
    """Parse and validate header bytes `raw`, for a data section of `data_size` bytes."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError(f"corrupted header (not UTF-8: {exc})") from None
    try:
        obj = _DECODER.decode(text)  # (json's own whitespace is the format's: space \t \n \r)
    except json.JSONDecodeError as exc:
        raise HeaderError(f"corrupted header ({exc})") from None
    except RecursionError:
        raise HeaderError(f"corrupted header (JSON nested more than {_MAX_DEPTH} levels "
                          "deep)") from None
    except HeaderError:
        raise
    except ValueError as exc:  # an integer literal past Python's digit limit
        raise HeaderError(f"corrupted header ({exc})") from None
    if type(obj) is not _Obj:
        raise HeaderError("corrupted header (not a JSON object)")
    if obj.depth > _MAX_DEPTH:
        raise HeaderError(f"corrupted header (JSON nested more than {_MAX_DEPTH} levels deep)")
    if obj.dups:
        name = sorted(obj.dups)[0]
        what = "metadata" if name == METADATA else f"tensor name '{name}'"
        raise HeaderError(f"{what} appears twice in the header (readers disagree on which "
                          "one counts)")
    metadata = obj.get(METADATA)
    if metadata is not None:
        if type(metadata) is not _Obj or not all(type(v) is str for v in metadata.values()):
            raise HeaderError("corrupted header: __metadata__ must map strings to strings")
        if metadata.dups:
            raise HeaderError(f"metadata key '{sorted(metadata.dups)[0]}' appears twice in "
                              "the header (readers disagree on which one counts)")
    tensors = [_entry(name, info) for name, info in obj.items() if name != METADATA]
    _check_layout(tensors, data_size)
    return Header(tensors, metadata, obj)


def _check_layout(tensors: list, data_size: int) -> None:
    """Each tensor's bytes fit its shape and dtype, and the tensors tile the data section
    exactly: no hole, no overlap, nothing after the last one."""
    for t in tensors:
        if t.end < t.begin:
            raise HeaderError(f"tensor '{t.name}' has data offsets [{t.begin}, {t.end}] that "
                              "end before they begin")
        need = _nbytes(t)
        if t.end > data_size:
            raise HeaderError(f"tensor '{t.name}' has data offsets [{t.begin}, {t.end}] outside "
                              f"the data section of {data_size} bytes (truncated?)")
        if t.end - t.begin != need:
            raise HeaderError(f"tensor '{t.name}' of shape {t.shape} and dtype {t.dtype} needs "
                              f"{need} bytes but its offsets span {t.end - t.begin}")
    end, last = 0, None
    for t in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if t.begin > end:
            raise HeaderError(f"a hole of {t.begin - end} bytes in the data section before "
                              f"tensor '{t.name}' (bytes {end} to {t.begin} belong to no tensor)")
        if t.begin < end:
            raise HeaderError(f"tensors '{last}' and '{t.name}' overlap in the data section")
        end, last = t.end, t.name
    if end != data_size:
        raise HeaderError(f"{data_size - end} junk bytes after the last tensor (the tensors "
                          f"cover {end} of the data section's {data_size} bytes; two files "
                          "concatenated, or one appended to?)")
