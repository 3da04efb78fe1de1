"""save/load with binary file objects (io.BytesIO, open files): the same bytes and the same
strictness as paths; torch.serialization's safe-globals API, which torchlite only records."""

import io
import json
import pickle
import struct
import zipfile

import numpy as np
import pytest

import torchlite
from torchlite import serialization
from torchlite.serialization import CheckpointError


def _same(a, b):
    """Equal nested states: keys in the same order, tensors equal in dtype and values (a dict
    equals an OrderedDict: load gives plain dicts, from a path too)."""
    assert type(a) is type(b) or isinstance(a, dict) and isinstance(b, dict), (a, b)
    if isinstance(a, torchlite.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


def _optimizer_state() -> dict:
    torchlite.manual_seed(0)
    model = torchlite.nn.Linear(3, 2)
    opt = torchlite.optim.Adam(model.parameters(), lr=0.01)
    model(torchlite.randn(4, 3)).sum().backward()
    opt.step()
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1,
            "pair": (2, None), "name": "run"}


def _flat() -> dict:
    return {"w": torchlite.randn(2, 3), "b": torchlite.zeros(3, dtype=torchlite.float64),
            "n": torchlite.tensor(7), "mask": torchlite.tensor([True, False]),
            "u8": torchlite.tensor([200], dtype=torchlite.uint8)}


def _saved_bytes(obj, tmp_path) -> bytes:
    """What save writes to a path."""
    path = tmp_path / "ref.safetensors"
    torchlite.save(obj, path)
    return path.read_bytes()


def _content(blob: bytes) -> tuple[dict, bytes]:
    """A safetensors file's header, parsed, and its data: what two saves of one state share
    (the library lays out the metadata in no fixed order)."""
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


# ----------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("make", [_flat, _optimizer_state])
def test_bytesio_writes_the_bytes_a_path_gets_and_reads_back_the_same(make, tmp_path):
    obj = make()
    buf = io.BytesIO()
    torchlite.save(obj, buf)
    assert _content(buf.getvalue()) == _content(_saved_bytes(obj, tmp_path))
    buf.seek(0)
    got = torchlite.load(buf)
    _same(got, torchlite.load(tmp_path / "ref.safetensors"))
    _same(got, obj)
    assert buf.tell() == len(buf.getvalue())  # read to the end


def test_loaded_tensors_are_writable():
    buf = io.BytesIO()
    torchlite.save({"w": torchlite.zeros(3)}, buf)
    buf.seek(0)
    w = torchlite.load(buf)["w"]
    w.add_(1)
    np.testing.assert_array_equal(w.numpy(), [1, 1, 1])


def test_open_files_round_trip_and_stay_open(tmp_path):
    obj = _optimizer_state()
    path = tmp_path / "ckpt.safetensors"
    with open(path, "wb") as fh:
        torchlite.save(obj, fh)
        assert not fh.closed
    assert _content(path.read_bytes()) == _content(_saved_bytes(obj, tmp_path))
    with open(path, "rb") as fh:
        _same(torchlite.load(fh), obj)
    with open(path, "wb", buffering=0) as fh:  # a raw file
        torchlite.save(obj, fh)
    with open(path, "rb", buffering=0) as fh:
        _same(torchlite.load(fh), obj)


def test_reading_from_a_non_zero_position(tmp_path):
    obj = _optimizer_state()
    buf = io.BytesIO()
    buf.write(b"a preamble of other data")
    start = buf.tell()
    torchlite.save(obj, buf)
    buf.seek(start)
    _same(torchlite.load(buf), obj)
    path = tmp_path / "two.bin"
    with open(path, "wb") as fh:
        fh.write(b"\x00" * 100)
        torchlite.save(obj, fh)
    with open(path, "rb") as fh:
        fh.seek(100)
        _same(torchlite.load(fh), obj)


class _Stream:
    """A reader or writer with nothing but read/write (no seek, tell, name or flush)."""

    def __init__(self, data: bytes = b"", most: int | None = None):
        self._data, self._most, self.written = data, most, bytearray()

    def read(self, n: int = -1) -> bytes:
        out = self._data if n < 0 else self._data[:n]
        self._data = self._data[len(out):]
        return out

    def write(self, b) -> int:  # takes at most `most` bytes a call, as a raw file may
        b = bytes(b)[:self._most]
        self.written += b
        return len(b)


def test_minimal_streams_short_writes_included(tmp_path):
    obj = _optimizer_state()
    out = _Stream(most=7)
    torchlite.save(obj, out)
    assert _content(bytes(out.written)) == _content(_saved_bytes(obj, tmp_path))
    _same(torchlite.load(_Stream(bytes(out.written))), obj)


def test_map_location_and_weights_only_work_as_with_paths():
    buf = io.BytesIO()
    torchlite.save({"w": torchlite.ones(2)}, buf)
    for kw in ({"map_location": "cpu"}, {"weights_only": False}, {"weights_only": True}):
        buf.seek(0)
        w = torchlite.load(buf, **kw)["w"]
        assert w.device == torchlite.device("cpu")
        np.testing.assert_array_equal(w.numpy(), [1, 1])


# ----------------------------------------------------------------------------------------------
# the same strictness as paths


def _path_error(blob: bytes, path) -> str:
    path.write_bytes(blob)
    with pytest.raises(CheckpointError) as info:
        torchlite.load(path)
    return str(info.value)


def test_every_truncation_is_refused_with_the_message_a_file_gets(tmp_path):
    blob = _saved_bytes({"w": torchlite.ones(2), "cfg": {"lr": 0.1}}, tmp_path)
    path = tmp_path / "cut.safetensors"
    for k in range(len(blob)):
        expected = _path_error(blob[:k], path)
        with pytest.raises(CheckpointError) as info:
            torchlite.load(io.BytesIO(blob[:k]))
        assert str(info.value) == expected.replace(str(path), "<BytesIO>"), k
        with open(path, "rb") as fh, pytest.raises(CheckpointError) as info:
            torchlite.load(fh)  # an open file is named by its path
        assert str(info.value) == expected, k


def test_a_bit_flip_is_caught_by_the_digest(tmp_path):
    blob = bytearray(_saved_bytes({"w": torchlite.ones(4)}, tmp_path))
    blob[-3] ^= 0x10  # in the tensor data: the file stays well-formed
    with pytest.raises(CheckpointError, match=r"^<BytesIO> is corrupt: its tensor data does not "
                                              "match the SHA-256 digest"):
        torchlite.load(io.BytesIO(bytes(blob)))


def test_the_library_check_backs_up_the_reader_for_buffers(tmp_path, monkeypatch):
    blob = _saved_bytes({"w": torchlite.ones(4)}, tmp_path) + b"\x00\x00"
    monkeypatch.setattr(serialization.sth, "_check_layout", lambda tensors, size: None)
    with pytest.raises(CheckpointError, match=r"^<BytesIO>: the safetensors library refuses it"):
        torchlite.load(io.BytesIO(blob))


def test_pickles_and_other_kinds_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="^<BytesIO>: this is a pickle or a PyTorch"):
        torchlite.load(io.BytesIO(pickle.dumps({"w": [1.0]})))
    archive = io.BytesIO()  # what torch.save writes: a zip holding a pickled data.pkl
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": [1.0]}))
    with pytest.raises(CheckpointError, match="^<BytesIO>: this is a pickle or a PyTorch"):
        torchlite.load(io.BytesIO(archive.getvalue()))
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(3))
    with open(path, "rb") as fh, pytest.raises(
            CheckpointError, match=rf"^{path}: not a safetensors checkpoint \(a NumPy .npy"):
        torchlite.load(fh)


def test_text_mode_files_are_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    with open(path, "w") as fh, pytest.raises(TypeError, match="text mode.*'wb'"):
        torchlite.save({"w": torchlite.ones(1)}, fh)
    assert path.read_bytes() == b""
    torchlite.save({"w": torchlite.ones(1)}, path)
    with open(path) as fh, pytest.raises(TypeError, match="text mode.*'rb'"):
        torchlite.load(fh)
    with pytest.raises(TypeError, match="<StringIO> is open in text mode"):
        torchlite.save({"w": torchlite.ones(1)}, io.StringIO())
    with pytest.raises(TypeError, match="<StringIO> is open in text mode"):
        torchlite.load(io.StringIO("{}"))


# ----------------------------------------------------------------------------------------------
# safe globals: recorded, nothing else


class _Mine:
    pass


@pytest.fixture
def no_safe_globals():
    serialization.clear_safe_globals()
    yield
    serialization.clear_safe_globals()


def test_safe_globals_are_recorded(no_safe_globals):
    assert serialization.get_safe_globals() == []
    serialization.add_safe_globals([_Mine, (np.dtype, "numpy.dtype")])
    serialization.add_safe_globals([_Mine])
    assert serialization.get_safe_globals() == [_Mine, (np.dtype, "numpy.dtype")]
    serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []


def test_the_safe_globals_context_manager(no_safe_globals):
    serialization.add_safe_globals([int])
    buf = io.BytesIO()
    torchlite.save({"w": torchlite.ones(2)}, buf)
    with serialization.safe_globals([_Mine]) as entered:
        assert entered is None
        assert serialization.get_safe_globals() == [int, _Mine]
        buf.seek(0)
        w = torchlite.load(buf, weights_only=True)["w"]  # the list changes nothing
    np.testing.assert_array_equal(w.numpy(), [1, 1])
    assert serialization.get_safe_globals() == [int]


# ----------------------------------------------------------------------------------------------
# PyTorch


@pytest.mark.parity
def test_pytorch_reads_a_bytesio_checkpoint():
    torch = pytest.importorskip("torch")
    from safetensors.torch import load as torch_load

    sd = _flat()
    buf = io.BytesIO()
    torchlite.save(sd, buf)
    got = torch_load(buf.getvalue())
    assert set(got) == set(sd)
    for k, v in sd.items():
        assert isinstance(got[k], torch.Tensor)
        np.testing.assert_array_equal(got[k].numpy(), v.numpy())
