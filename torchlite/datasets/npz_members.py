"""What an .npz archive declares about its arrays, read and checked before anything is inflated.

`np.load` inflates a member whole when it is indexed, so a small archive can demand gigabytes
(a decompression bomb, or a header that lies about the data behind it) before any later check
can refuse it. The zip directory and each member's .npy header are a few hundred bytes: reading
them first lets a loader refuse such a file, and compare the arrays' lengths and sample shapes
with each other or with a model, at no cost.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DatasetError

# Deflate cannot compress better than about 1032:1, which only long runs of one byte reach; real
# arrays, sparse ones included, stay far below. A member past the floor at over this ratio is a
# bomb, not data.
MAX_RATIO = 1000
RATIO_FLOOR = 256 << 20


@dataclass(frozen=True)
class Member:
    """One array of an archive, as its headers declare it."""

    name: str  # the key np.load gives it (no ".npy")
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int  # declared size once inflated (zip directory), header included


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: no such limit checked
        return None


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def read_members(path: str | os.PathLike) -> dict[str, Member]:
    """The arrays of the .npz archive at `path`, from the zip directory and the .npy headers.

    Raises DatasetError naming the file and the member when a member would inflate past
    MAX_RATIO times its compressed size, when the archive declares more bytes than this
    machine's memory, or when a header's shape and dtype disagree with the member's declared
    size (a truncated, padded or forged member). Returns {} for a file that is not a zip: the
    caller's own reader says what it is.
    """
    p = Path(path)
    try:
        archive = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return {}
    members: dict[str, Member] = {}
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        memory = _physical_memory()
        if memory is not None and total > memory:
            raise DatasetError(f"{p}: its arrays declare {_gib(total)} once inflated, more than "
                               f"this machine's {_gib(memory)} of memory; refused before reading")
        for info in infos:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            where = f"{p}: array {name!r}"
            if info.file_size > RATIO_FLOOR and \
                    info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise DatasetError(
                    f"{where} declares {_gib(info.file_size)} from "
                    f"{info.compress_size:,} compressed bytes (over {MAX_RATIO}:1): refused as a "
                    "decompression bomb, before inflating it")
            members[name] = _member(archive, info, name, where)
    return members


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, where: str) -> Member:
    try:
        with archive.open(info) as f:
            major, minor = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if major == 1 else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
            header = f.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # not an .npy member (np.load names the problem), or a corrupt one
        raise DatasetError(f"{where}: not a readable NumPy array ({exc})") from None
    if dtype.hasobject:  # its size is not fixed; np.load refuses it without unpickling
        return Member(name, tuple(shape), dtype, info.file_size)
    data = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    if header + data != info.file_size:
        raise DatasetError(
            f"{where}: its header declares shape {list(shape)} {dtype} ({data:,} bytes) but the "
            f"archive holds {info.file_size - header:,} bytes of data: the file is truncated or "
            "corrupt")
    return Member(name, tuple(shape), dtype, info.file_size)
