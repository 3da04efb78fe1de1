"""torchlite reads checkpoints exactly as strictly as the safetensors library, checked file by file
over a generated corpus: every truncation of small files, thousands of seeded bit flips and random
header mutations, concatenations. For each file the library's verdict is the reference:

- the library refuses it: torchlite.load raises CheckpointError naming the file;
- the library accepts it: torchlite.load returns the same names, shapes and bytes, except where
  torchlite is stricter on purpose (a name or metadata key given twice; a dtype or a shape torchlite
  cannot hold; a stored digest that does not match).

The corpus runs with the library's own check inside torchlite.load switched off, so that it tests
torchlite's reader alone. Resource bombs (huge or deeply nested headers, sizes that would need
exabytes) run in a child process under a memory limit.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS
from safetensors import SafetensorError, deserialize
from safetensors.numpy import save_file
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite
from torchlite import _bfloat16_io, serialization
from torchlite.serialization import CheckpointError

SEED = 20261205
LIB_DTYPES = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
              "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
TL_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "F16": "<f2", "I32": "<i4",
             "F32": "<f4", "F64": "<f8", "I64": "<i8"}


class Raw(str):
    """JSON text written as is (what json.dumps cannot write: NaN, 1e999, lone surrogates)."""


def _dump(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, list) and value and isinstance(value[0], tuple):  # an object, in order
        return "{" + ",".join(f"{_dump(k)}:{_dump(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    if isinstance(value, dict):
        return _dump(list(value.items())) if value else "{}"
    return json.dumps(value)


def _file(pairs, data: bytes, lead: str = "", pad: str = "") -> bytes:
    raw = (lead + _dump(pairs) + pad).encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(raw)) + raw + data


def _laid_out(tensors, metadata=None):
    """Header pairs and data for (name, dtype, shape, bytes) laid out one after the other."""
    pairs, data = [], b""
    if metadata is not None:
        pairs.append(("__metadata__", metadata))
    for name, dt, shape, raw in tensors:
        pairs.append((name, {"dtype": dt, "shape": shape,
                             "data_offsets": [len(data), len(data) + len(raw)]}))
        data += raw
    return pairs, data


def _plain_tensors(rng: np.random.Generator):
    bf16 = (rng.standard_normal(3).astype(np.float32).view(np.uint32) >> 16).astype("<u2")
    return [
        ("w", "F32", [2, 3], rng.standard_normal(6).astype("<f4").tobytes()),
        ("h", "F16", [3], rng.standard_normal(3).astype("<f2").tobytes()),
        ("bf", "BF16", [3], bf16.tobytes()),
        ("n", "I64", [2], np.array([-5, 7], "<i8").tobytes()),
        ("m", "BOOL", [3], bytes([1, 0, 1])),
        ("u", "U8", [2], bytes([200, 3])),
        ("e", "I8", [0, 4], b""),
        ("s", "F64", [], np.float64(2.5).tobytes()),
        ("i", "I32", [1, 1], np.array([9], "<i4").tobytes()),
    ]


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """Small files to mutate: hand-laid (with BF16), written by the safetensors library, and
    written by torchlite (with digests)."""
    rng = np.random.default_rng(SEED)
    tmp = tmp_path_factory.mktemp("bases")
    tensors = _plain_tensors(rng)
    pairs, data = _laid_out(tensors, {"format": "np", "note": "plain"})
    hand = _file(pairs, data)
    lib = tmp / "lib.safetensors"
    save_file({n: np.frombuffer(b, TL_DTYPES[d]).reshape(s) for n, d, s, b in tensors
               if d in TL_DTYPES}, str(lib), metadata={"format": "np"})
    mine = tmp / "mine.safetensors"
    torchlite.save({"a": torchlite.arange(6.0).reshape(2, 3), "b": torchlite.tensor([1, 2]),
                    "c": torchlite.tensor([True])}, mine, metadata={"note": "x"})
    return {"hand": (hand, pairs, data), "lib": lib.read_bytes(), "mine": mine.read_bytes()}


# --------------------------------------------------------------------------------------------
# the two verdicts


def _library(blob: bytes):
    try:
        return {name: (d["dtype"], list(d["shape"]), bytes(d["data"]))
                for name, d in deserialize(blob)}
    except SafetensorError:
        return None


def _pairs_hook(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Duplicate
    return dict(pairs)


class _Duplicate(Exception):
    pass


def _stricter_on_purpose(blob: bytes, accepted: dict) -> str | None:
    """Why torchlite refuses a file that the library accepts, or None where it must not."""
    n = int.from_bytes(blob[:8], "little")
    try:
        header = json.loads(blob[8:8 + n], object_pairs_hook=_pairs_hook)
    except _Duplicate:
        return "appears twice"
    for dt, shape, _ in accepted.values():
        if dt not in TL_DTYPES and dt != "BF16":
            return "unsupported dtype"
        extent = _bfloat16_io.itemsize() if dt == "BF16" else np.dtype(TL_DTYPES[dt]).itemsize
        for s in shape:
            extent *= s or 1
        if extent >= 2 ** 63:
            return "too large for NumPy"
    meta = header.get("__metadata__") or {}
    if serialization.DIGEST_KEY in meta or '"digest"' in meta.get("torchlite", ""):
        return "is corrupt: "
    return None


def _check(blob: bytes, path) -> str:
    """Compare both verdicts on `blob`; returns 'refused', 'accepted' or 'stricter'."""
    expect = _library(blob)
    path.unlink(missing_ok=True)  # (rewriting a truncated file makes ext4 flush it to disk)
    path.write_bytes(blob)
    try:
        got = torchlite.load(path)
    except CheckpointError as exc:
        msg = str(exc)
        assert msg.startswith((f"{path}: ", f"{path} is corrupt: ")), msg
        if expect is None:
            return "refused"
        why = _stricter_on_purpose(blob, expect)
        assert why is not None and why in msg, (
            f"torchlite refuses a file the library accepts: {msg}\n{blob[:300]!r}")
        return "stricter"
    assert expect is not None, f"torchlite accepts a file the library refuses: {blob[:300]!r}"
    assert isinstance(got, dict) and set(got) == set(expect), (set(got), set(expect))
    for name, (dt, shape, raw) in expect.items():
        arr = got[name].numpy()
        assert list(arr.shape) == shape, (name, arr.shape, shape)
        if dt == "BF16":
            bits = arr.astype("<f4").view("<u4")
            assert not (bits & 0xFFFF).any() and (bits >> 16).astype("<u2").tobytes() == raw
        else:
            assert arr.dtype == np.dtype(TL_DTYPES[dt]), (name, arr.dtype, dt)
            assert arr.astype(TL_DTYPES[dt]).tobytes() == raw, name
    return "accepted"


@pytest.fixture
def own_reader_only(monkeypatch):
    """torchlite's reader without the library's check behind it."""
    monkeypatch.setattr(serialization, "_check_with_library", lambda path: None)


def _run(blobs, path) -> dict:
    seen: dict = {}
    for blob in blobs:
        verdict = _check(blob, path)
        seen[verdict] = seen.get(verdict, 0) + 1
    return seen


# --------------------------------------------------------------------------------------------
# the corpus


def test_every_truncation(bases, tmp_path, own_reader_only):
    for blob in (bases["hand"][0], bases["lib"], bases["mine"]):
        seen = _run([blob[:k] for k in range(len(blob))], tmp_path / "cut.safetensors")
        assert seen == {"refused": len(blob)}
        assert _check(blob, tmp_path / "whole.safetensors") == "accepted"


def test_seeded_bit_flips(bases, tmp_path, own_reader_only):
    rng = random.Random(SEED)
    blobs = []
    for blob in (bases["hand"][0], bases["lib"]):
        for _ in range(1500):
            b = bytearray(blob)
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                i = rng.randrange(len(b) * 8)
                b[i // 8] ^= 1 << (i % 8)
            blobs.append(bytes(b))
    seen = _run(blobs, tmp_path / "flip.safetensors")
    # flips in the data give other values (both accept), in the header mostly refusals
    assert seen.get("accepted", 0) > 200 and seen.get("refused", 0) > 2000, seen


def test_every_bit_flip_of_a_torchlite_file_is_refused(bases, tmp_path, own_reader_only):
    blob = bases["mine"]
    path = tmp_path / "flip.safetensors"
    for i in range(len(blob) * 8):
        b = bytearray(blob)
        b[i // 8] ^= 1 << (i % 8)
        assert _check(bytes(b), path) in ("refused", "stricter"), (i // 8, i % 8)


_ODD_VALUES = [0, -1, 1.5, True, None, "x", [], [[1]], {}, Raw("-0"), Raw("1e999"), Raw("NaN"),
               Raw('"\\ud800"'), Raw('"\\ud83d\\ude00"'), 2 ** 63, 2 ** 64 - 1, 2 ** 64,
               Raw("[" * 124 + "]" * 124), Raw("[" * 125 + "]" * 125), Raw("[" * 126 + "]" * 126),
               Raw("1" * 400), Raw("1e-999")]


def _mutate(rng: random.Random, pairs: list, data: bytes):
    """One random change to a header (held as ordered pairs) or to its data section."""
    pairs = copy.deepcopy(pairs)
    i = rng.choice([i for i, (k, _) in enumerate(pairs) if k != "__metadata__"])
    op = rng.randrange(16) if isinstance(pairs[i][1], dict) else rng.choice((8, 9, 10, 11, 14))
    lead = pad = ""
    try:
        data = _edit(rng, op, pairs, i, data)
    except (IndexError, KeyError, TypeError, AttributeError, ValueError):
        pass  # the entry was already too broken for this edit
    if op == 11:
        lead = rng.choice(["", " ", "\n\t", "\x0b", "\ufeff"])
        pad = rng.choice(["", "   ", "\r\n", "\x00", " x", "}"])
    if op in (14, 15):  # text-level edits of the JSON
        text = _dump(pairs)
        k = rng.randrange(len(text))
        if op == 14:
            text = text[:k] + text[k + 1:]
        else:
            text = text[:k] + rng.choice('{}[]",:0123456789-eE.tfnul\\ ') + text[k:]
        return Raw(text), data, lead, pad
    return pairs, data, lead, pad


def _edit(rng: random.Random, op: int, pairs: list, i: int, data: bytes) -> bytes:
    name, info = pairs[i]
    if op == 0:  # move an offset
        info["data_offsets"][rng.randrange(2)] += rng.choice((-8, -4, -2, -1, 1, 2, 4, 8))
    elif op == 1:
        b, e = info["data_offsets"][:2]
        info["data_offsets"] = rng.choice(([e, b], [0, 0], [b], [b, e, e],
                                           [2 ** 64 - 1, 2 ** 64 - 1], [b, 2 ** 64]))
    elif op == 2:  # change the shape
        shape, choice = info["shape"], rng.randrange(5)
        if choice == 0:
            shape[rng.randrange(len(shape))] += rng.choice((-1, 1))
        elif choice == 1:
            shape.insert(rng.randrange(len(shape) + 1), rng.choice((1, 0, 2)))
        elif choice == 2:
            shape.pop(rng.randrange(len(shape)))
        elif choice == 3:
            shape.append(rng.choice([2 ** 32, 2 ** 62, 2 ** 63, 2 ** 64 - 1, 2 ** 64]))
        else:
            info["shape"] = rng.choice(_ODD_VALUES)
    elif op == 3:
        info["dtype"] = rng.choice(LIB_DTYPES + ["f32", "Q7", "", {"F32": None}, {"F16": 1}, 5])
    elif op == 4:  # a name given twice
        pairs.insert(rng.randrange(len(pairs) + 1), (name, copy.deepcopy(info)))
    elif op == 5:
        del info[rng.choice(["dtype", "shape", "data_offsets"])]
    elif op == 6:
        info[rng.choice(["extra", "dtype", "e"])] = rng.choice(_ODD_VALUES)
    elif op == 7:  # serde also reads a struct from an array
        row = [info["dtype"], info["shape"], info["data_offsets"]]
        pairs[i] = (name, row + [0] if rng.random() < 0.2 else row)
    elif op == 8:
        meta = [j for j, (k, _) in enumerate(pairs) if k == "__metadata__"]
        value = rng.choice([None, {"a": 1}, {"a": "1", "b": "2"}, [("a", "1"), ("a", "2")],
                            {"s": Raw('"\\udc00"')}, "x", {}])
        if meta:
            pairs[meta[0]] = ("__metadata__", value)
        else:
            pairs.append(("__metadata__", value))
    elif op == 9:  # junk after the data, or a shorter data section
        return data + bytes(rng.randrange(1, 9)) if rng.random() < 0.5 else data[:-1]
    elif op == 10:  # a hole: bytes inserted in the middle of the data
        k = rng.randrange(len(data) + 1)
        return data[:k] + b"\x00" * rng.choice((1, 2, 4)) + data[k:]
    elif op == 12:
        pairs.insert(rng.randrange(len(pairs) + 1),
                     (rng.choice(["z", "", "\x7f", Raw('"\\ud800"'), "__metadata__ "]),
                      {"dtype": "F32", "shape": [0], "data_offsets": [len(data), len(data)]}))
    elif op == 13:  # zero-sized tensors sharing an offset with others
        pairs.append(("z0", {"dtype": rng.choice(LIB_DTYPES),
                             "shape": [0, rng.choice((3, 2 ** 40, 2 ** 62))],
                             "data_offsets": [rng.choice((0, 4, len(data))), len(data)]}))
    return data


def test_random_header_mutations(bases, tmp_path, own_reader_only):
    rng = random.Random(SEED)
    _, pairs, data = bases["hand"]
    blobs = []
    for _ in range(2500):
        p, d, lead, pad = pairs, data, "", ""
        for _ in range(rng.choice((1, 1, 2, 3))):
            if isinstance(p, Raw):
                break
            p, d, lead, pad = _mutate(rng, p, d)
        blobs.append(_file(p, d, lead, pad))
    seen = _run(blobs, tmp_path / "mut.safetensors")
    assert seen.get("accepted", 0) > 150 and seen.get("refused", 0) > 1000, seen
    assert seen.get("stricter", 0) > 20, seen


def test_concatenated_and_spliced_files(bases, tmp_path, own_reader_only):
    hand, lib, mine = bases["hand"][0], bases["lib"], bases["mine"]
    blobs = [hand + hand, lib + mine, mine + lib, mine[:-5] + mine, lib + b"\x00",
             mine[:len(mine) // 2] + lib[len(lib) // 2:], lib + lib[8:]]
    assert _run(blobs, tmp_path / "cat.safetensors") == {"refused": len(blobs)}


def test_the_library_check_backs_up_the_reader(bases, tmp_path, monkeypatch):
    """A file the reader let through (here: its layout check switched off) and the library
    refuses is still refused."""
    monkeypatch.setattr(serialization.sth, "_check_layout", lambda tensors, size: None)
    path = tmp_path / "junk.safetensors"
    path.write_bytes(bases["lib"] + b"\x00\x00")
    with pytest.raises(CheckpointError, match=f"^{path}: the safetensors library refuses it "
                                              r"\(.*incomplete metadata"):
        torchlite.load(path)


# --------------------------------------------------------------------------------------------
# resource bombs, in a child process under a memory limit

_CHILD = textwrap.dedent("""
    import json, resource, sys
    import torchlite
    from torchlite.serialization import CheckpointError
    def status(key):  # (ru_maxrss would count the parent's peak from before the exec)
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    cap = status("VmSize") + int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    before = status("VmHWM")
    try:
        torchlite.load(sys.argv[1])
        verdict = "loaded"
    except CheckpointError as exc:
        verdict = "refused: " + str(exc)[:300]
    grew = status("VmHWM") - before
    print(json.dumps({"verdict": verdict, "grew": grew}))
""")

MIB = 1 << 20


def _bomb(path, header: bytes, data: bytes = b"", length: int | None = None):
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header) if length is None else length))
        f.write(header)
        f.write(data)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, sets RLIMIT_AS")
@pytest.mark.parametrize("kind, cap_mib, grew_mib", [
    ("deep", 640, 320), ("length", 64, 16), ("shape", 64, 16), ("offsets", 64, 16),
    ("wide", 640, 420),
])
def test_resource_bombs_are_refused_within_a_memory_cap(tmp_path, kind, cap_mib, grew_mib):
    path = tmp_path / f"{kind}.safetensors"
    if kind == "deep":  # 99 MB of '[': refused at depth 128, not by exhausting the stack
        _bomb(path, b'{"x":' + b"[" * (99 * 10 ** 6) + b"}")
    elif kind == "length":  # a header length of 99,999,999 in a file of 40 bytes
        _bomb(path, b'{"x":{}}' + b" " * 24, length=99_999_999)
    elif kind == "shape":  # 2**62 elements claimed in 4 bytes
        _bomb(path, json.dumps({"x": {"dtype": "F64", "shape": [2 ** 31, 2 ** 31],
                                      "data_offsets": [0, 4]}}).encode(), b"\x00" * 4)
    elif kind == "offsets":  # 1 EiB of data claimed in 4 bytes
        _bomb(path, json.dumps({"x": {"dtype": "U8", "shape": [2 ** 60],
                                      "data_offsets": [0, 2 ** 60]}}).encode(), b"\x00" * 4)
    else:  # a 99 MB header: one metadata string, then an offset that does not fit
        _bomb(path, b'{"__metadata__":{"a":"' + b"y" * (99 * 10 ** 6) + b'"},'
              b'"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}', b"\x00" * 4)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(cap_mib * MIB)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["verdict"].startswith(f"refused: {path}"), result
    assert re.search(r"nested|larger|does not fit|count|outside", result["verdict"]), result
    assert result["grew"] < grew_mib * MIB, result


# --------------------------------------------------------------------------------------------
# end to end: a corrupt checkpoint is exit 3


def test_eval_of_a_corrupt_checkpoint_exits_3(tmp_path):
    runner = CliRunner()
    (tmp_path / "tiny.yaml").write_text(TINY_DIGITS.format(name="tiny", root=tmp_path / "runs"))
    assert runner.invoke(app, ["train", str(tmp_path / "tiny.yaml"), "--plain"]).exit_code == 0
    best = tmp_path / "runs" / "tiny" / "weights" / "best.safetensors"
    raw = best.read_bytes()
    seed = raw.index(b'\\"seed\\": 0') + len(b'\\"seed\\": ')  # in the stored config
    for where, offset in (("tensor data", len(raw) - 5), ("header", seed)):
        bad = tmp_path / f"bad_{where[0]}.safetensors"
        flipped = bytearray(raw)
        flipped[offset] ^= 1  # the JSON still parses: 0 -> 1, or a weight changes
        bad.write_bytes(bytes(flipped))
        for command in ("eval", "summary"):
            r = runner.invoke(app, [command, str(bad)])
            assert r.exit_code == 3, r.output
            assert f"error: {bad} is corrupt: its {where} does not match" in r.output, r.output
