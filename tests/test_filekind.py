"""torchlite._filekind: a file's kind told from its first bytes (the suffix only breaks ties),
and torchlite.load naming a file of another kind for what it is."""

from __future__ import annotations

import gzip
import pickle
import zipfile

import numpy as np
import pytest

import torchlite
from torchlite import _filekind
from torchlite.serialization import CheckpointError


def savez(path, **arrays) -> None:
    with open(path, "wb") as f:  # (np.savez appends .npz to a name like a.NPZ)
        np.savez(f, **arrays)


@pytest.mark.parametrize("name, make, kind", [
    ("w.safetensors", lambda p: torchlite.save({"a": torchlite.ones(2)}, p), "safetensors"),
    ("a.npy", lambda p: np.save(p, np.zeros(3)), "npy"),
    ("a.NPZ", lambda p: savez(p, x=np.zeros(3)), "npz"),
    ("empty.npz", lambda p: np.savez(p), "npz"),
    ("m.pt", lambda p: p.write_bytes(pickle.dumps([1, 2])), "pickle"),
    ("m.pt", lambda p: zipfile.ZipFile(p, "w").writestr("m/data.pkl", b"\x80\x02."), "pytorch"),
    ("broken.pt", lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 40), "pytorch"),
    ("broken.npz", lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 40), "npz"),
    ("d.zip", lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "hi"), "zip"),
    ("c.YAML", lambda p: p.write_text("name: x\ndata: {dataset: digits}\n"), "text"),
    ("u.csv", lambda p: p.write_text("a,b\nné,1\n", encoding="utf-8-sig"), "text"),
    ("g.gz", lambda p: p.write_bytes(gzip.compress(b"abc")), "gzip"),
    ("e.bin", lambda p: p.write_bytes(b""), "empty"),
    ("s.bin", lambda p: p.write_bytes(b"\x05" + b"\x00" * 7 + b" \n{} "), "safetensors"),
    ("r.bin", lambda p: p.write_bytes(b"\x01\x00\xff\x07" * 10), "unknown"),
])
def test_sniff(tmp_path, name, make, kind):
    p = tmp_path / name
    make(p)
    assert _filekind.sniff(p) == kind


def test_describe_names_text_by_its_suffix(tmp_path):
    for name, flavour in (("c.yml", "YAML"), ("t.csv", "CSV"), ("notes", "YAML")):
        (tmp_path / name).write_text("a: 1\n")
        assert _filekind.describe(tmp_path / name) == f"it looks like a {flavour}/text file"
    (tmp_path / "r.bin").write_bytes(b"\x01\x00\xff")
    assert _filekind.describe(tmp_path / "r.bin") is None


@pytest.mark.parametrize("name, make, fragment", [
    ("config.yaml", lambda p: p.write_text("name: x\n" * 20), "it looks like a YAML/text file"),
    ("d.npz", lambda p: np.savez(p, x=np.zeros(3)), "a NumPy .npz archive"),
    ("a.npy", lambda p: np.save(p, np.zeros(3)), "a NumPy .npy array"),
])
def test_load_names_other_files(tmp_path, name, make, fragment):
    p = tmp_path / name
    make(p)
    with pytest.raises(CheckpointError, match=f"^{p}: not a safetensors checkpoint "
                                              f"\\({fragment}\\)$"):
        torchlite.load(p)
