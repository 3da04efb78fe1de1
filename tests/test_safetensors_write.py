"""torchlite's safetensors writer (_safetensors_write.py): the library's bytes, read back by the
library; and torchlite.save's deferred digests (serialization.FileBytes)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

import torchlite as tl
from torchlite import _safetensors_write as sw
from torchlite import serialization


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "w": rng.standard_normal((3, 2)).astype(np.float32), "step": np.arange(5, dtype=np.int64),
        "half": rng.standard_normal(4).astype(np.float16), "flag": np.array(True),
        "bytes": np.arange(4, dtype=np.uint8), "ids": np.arange(3, dtype=np.int32),
        "empty": np.zeros((0, 3), np.float64), "q": np.arange(-2, 2, dtype=np.int8),
        "s": np.arange(2, dtype=np.int16), "b": np.ones(2, np.float32),
        "a": np.ones(1, np.float64), "u16": np.arange(3, dtype=np.uint16),
        "u32": np.arange(3, dtype=np.uint32), "u64": np.arange(3, dtype=np.uint64),
        "scalar": np.array(2.5, np.float32),
    }


@pytest.mark.parametrize("metadata", [None, {"format": "pt"}, {"x": 'ü ☃ " \\ \n \x01 /'}])
def test_bytes_equal_the_librarys(metadata):
    arrays = _arrays()
    head, data = sw.encode(arrays, metadata)
    assert head + b"".join(data) == st_save(arrays, metadata=metadata)


def test_several_metadata_entries_read_back_by_the_library(tmp_path):
    """The library orders metadata keys by its hash map (not reproducibly): compare contents."""
    from safetensors import safe_open

    arrays, meta = _arrays(), {"format": "pt", "a": "1", "é": "2", "zz": "3"}
    head, data = sw.encode(arrays, meta)
    back = st_load(head + b"".join(data))
    assert back.keys() == arrays.keys()
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)
    path = tmp_path / "x.safetensors"
    path.write_bytes(head + b"".join(data))
    with safe_open(str(path), framework="numpy") as st:
        assert st.metadata() == meta


def test_data_is_a_snapshot_and_the_header_is_padded():
    arrays = {"w": np.arange(6, dtype=np.float32)}
    head, data = sw.encode(arrays, None)
    arrays["w"][:] = -1
    assert np.frombuffer(b"".join(data), np.float32).tolist() == list(range(6))
    n = int.from_bytes(head[:8], "little")
    assert n == len(head) - 8 and n % 8 == 0


def test_a_dtype_the_format_lacks_is_refused_by_name():
    with pytest.raises(ValueError, match="tensor 'c' has dtype complex64"):
        sw.encode({"c": np.zeros(2, np.complex64)}, None)
    with pytest.raises(ValueError, match="tensor 'big' has dtype >f4"):
        sw.encode({"big": np.zeros(2, ">f4")}, None)


def test_bfloat16_written_as_bf16_and_loaded_bit_for_bit(tmp_path):
    pytest.importorskip("ml_dtypes", reason="bfloat16 arrays need ml_dtypes")
    t = tl.tensor([1.0, -2.5, 3.140625, 1e-3], dtype=tl.bfloat16)
    path = tmp_path / "b.safetensors"
    tl.save({"t": t, "f": tl.ones(2)}, path)
    raw = path.read_bytes()
    assert b'"dtype":"BF16"' in raw
    back = tl.load(path)
    assert back["t"].dtype == tl.bfloat16
    np.testing.assert_array_equal(back["t"]._data.view(np.uint16), t._data.view(np.uint16))
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    got = load_file(str(path))["t"]
    assert got.dtype == torch.bfloat16
    assert got.view(torch.int16).numpy().view(np.uint16).tolist() == \
        t._data.view(np.uint16).tolist()


def test_file_bytes_digests_come_when_called_once_on_any_thread(tmp_path):
    w = tl.ones(3, 4)
    pending = serialization.file_bytes({"w": w})
    w._data[...] = 7  # after the snapshot: not in the file
    results = []
    threads = [threading.Thread(target=lambda: results.append(pending())) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r is results[0] for r in results)
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"".join(results[0]))
    np.testing.assert_array_equal(tl.load(path)["w"].numpy(), np.ones((3, 4), np.float32))
    # the digest covers the data: a flipped byte is caught
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(tl.errors.CheckpointError):
        tl.load(path)
