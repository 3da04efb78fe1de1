"""What kind of file a path holds, told from its first bytes (and its suffix where the bytes
leave it open), so that a file of the wrong kind is named for what it is ("not a safetensors
checkpoint (a NumPy .npz archive)") instead of failing deep inside a parser with an error that
makes no sense for it. Reads a few kilobytes and, for a zip archive, its list of members; never
unpickles or parses anything.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

_HEAD = 4096

# kind -> how a message names it (after "not a ... (" ); None: nothing useful to say
_DESCRIPTIONS = {
    "npy": "a NumPy .npy array",
    "npz": "a NumPy .npz archive",
    "pytorch": "a PyTorch .pt/.pth archive",
    "pickle": "a Python pickle",
    "zip": "a zip archive",
    "gzip": "a gzip-compressed file",
    "hdf5": "an HDF5 file",
    "safetensors": "a safetensors file",
    "empty": "an empty file",
    "onnx": "an ONNX model",
}
_TEXT_FLAVOURS = {".csv": "CSV", ".tsv": "CSV", ".json": "JSON"}


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """An 8-byte little-endian header length that fits the file, then a JSON object (after
    JSON whitespace, which the safetensors library accepts there)."""
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 8 + n <= size and head[8:8 + n].lstrip(b" \t\n\r")[:1] == b"{"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the head
            return False
        text = head[:exc.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\n\r\f\v" for c in text.removeprefix("\ufeff"))


def _zip_kind(path: Path | io.BytesIO, suffix: str) -> str:
    """'pytorch' for an archive holding a pickled `data.pkl` (torch.save), 'npz' for one of
    .npy members (numpy.savez), 'zip' for any other; an archive whose member list cannot be
    read is told by its suffix, else taken for PyTorch's (the zip users most often pass)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        if suffix == ".npz":
            return "npz"
        return "pytorch"
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "pytorch"
    if all(n.endswith(".npy") for n in names) and (names or suffix == ".npz"):
        return "npz"
    return "zip"


def sniff(path: str | os.PathLike, content: bytes | None = None) -> str:
    """The kind of file at `path`: one of empty, safetensors, npy, npz, pytorch, pickle, zip,
    gzip, hdf5, onnx, text or unknown. OSErrors (a missing or unreadable file) propagate.
    `content`: the file's bytes where they come from a file object (`path` then only names
    it)."""
    p = Path(path)
    if content is not None:
        head, size = content[:_HEAD], len(content)
    else:
        with open(p, "rb") as f:
            head = f.read(_HEAD)
            size = os.fstat(f.fileno()).st_size
    suffix = p.suffix.lower()
    if not head:
        return "empty"
    if _looks_like_safetensors(head, size):
        return "safetensors"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(p if content is None else io.BytesIO(content), suffix)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if suffix == ".onnx" and head[:1] == b"\x08":  # a protobuf ModelProto: ir_version first
        return "onnx"
    if _is_text(head):
        return "text"
    return "unknown"


def describe(path: str | os.PathLike, kind: str | None = None) -> str | None:
    """How to name the kind of file at `path` in a message ("a NumPy .npz archive", "it looks
    like a YAML/text file"), or None when its first bytes say nothing useful."""
    kind = sniff(path) if kind is None else kind
    if kind == "text":
        flavour = _TEXT_FLAVOURS.get(Path(path).suffix.lower(), "YAML")
        return f"it looks like a {flavour}/text file"
    return _DESCRIPTIONS.get(kind)
