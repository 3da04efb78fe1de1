"""save/load: safetensors round trips, interoperability, verification of bad files, atomicity."""

import json
import os
import re
import struct

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import torchlite
from torchlite.serialization import (
    DIGEST_KEY,
    MAX_METADATA_DEPTH,
    CheckpointError,
    read_metadata,
    stale_temp_files,
    temp_path,
)


def _arrays_equal(a, b):
    assert isinstance(a, torchlite.Tensor) and isinstance(b, torchlite.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_flat_state_dict_round_trip(tmp_path):
    sd = {
        "w": torchlite.randn(3, 4),
        "b": torchlite.zeros(4, dtype=torchlite.float64),
        "h": torchlite.ones(2, dtype=torchlite.float16),
        "steps": torchlite.tensor(7),
        "mask": torchlite.tensor([True, False]),
        "i8": torchlite.tensor([-3, 4], dtype=torchlite.int8),
        "u8": torchlite.tensor([200], dtype=torchlite.uint8),
        "i16": torchlite.tensor([1], dtype=torchlite.int16),
        "i32": torchlite.tensor([[1, 2]], dtype=torchlite.int32),
        "empty": torchlite.zeros(0, 3),
        "noncontig": torchlite.arange(12.0).reshape(3, 4).t(),
    }
    path = tmp_path / "model.safetensors"
    torchlite.save(sd, path)
    out = torchlite.load(path)
    assert set(out) == set(sd)
    for k in sd:
        _arrays_equal(out[k], sd[k])
    assert not out["w"].requires_grad and out["w"].device == torchlite.device("cpu")


def test_nested_values_round_trip(tmp_path):
    obj = {
        "model": {"layer.weight": torchlite.ones(2, 2), "layer.bias": torchlite.zeros(2)},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": torchlite.full((2,), 0.5)},
                                1: {"step": 3, "exp_avg": None}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                                        "amsgrad": False, "name": "all"}]},
        "epoch": 5,
        "metrics": [0.5, 0.25, float("inf")],
        "pair": (1, "a", None),
        "dtype": torchlite.float32,
        "np_scalar": np.float32(1.5),
        "array": np.arange(3),
    }
    path = tmp_path / "ckpt.safetensors"
    torchlite.save(obj, path)
    out = torchlite.load(path)
    _arrays_equal(out["model"]["layer.weight"], obj["model"]["layer.weight"])
    st = out["optimizer"]["state"]
    assert set(st) == {0, 1} and st[0]["step"] == 3 and st[1]["exp_avg"] is None
    _arrays_equal(st[0]["exp_avg"], obj["optimizer"]["state"][0]["exp_avg"])
    group = out["optimizer"]["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and isinstance(group["betas"], tuple)
    assert group["params"] == [0, 1] and group["amsgrad"] is False and group["lr"] == 1e-3
    assert out["epoch"] == 5 and out["metrics"] == [0.5, 0.25, float("inf")]
    assert out["pair"] == (1, "a", None)
    assert out["dtype"] == "torch.float32" and out["np_scalar"] == 1.5
    assert out["array"].tolist() == [0, 1, 2] and out["array"].dtype == torchlite.int64


def test_colliding_tensor_names_stay_distinct(tmp_path):
    obj = {"a/b": torchlite.ones(1), "a": {"b": torchlite.zeros(1)}, 1: torchlite.full((1,), 2.0),
           "1": torchlite.full((1,), 3.0)}
    path = tmp_path / "c.safetensors"
    torchlite.save(obj, path)
    out = torchlite.load(path)
    assert out["a/b"].item() == 1.0 and out["a"]["b"].item() == 0.0
    assert out[1].item() == 2.0 and out["1"].item() == 3.0


def test_metadata_argument(tmp_path):
    path = tmp_path / "m.safetensors"
    torchlite.save({"w": torchlite.ones(1)}, path, metadata={"note": "hi", "cfg": {"lr": 0.1}})
    meta = read_metadata(path)
    assert meta["note"] == "hi" and json.loads(meta["cfg"]) == {"lr": 0.1}
    assert meta["format"] == "pt"


def test_unsupported_values_are_refused(tmp_path):
    with pytest.raises(TypeError, match="set"):
        torchlite.save({"x": {1, 2}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="keys"):
        torchlite.save({(1, 2): 3}, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)


# --------------------------------------------------------------------------------------------
# interoperability


def test_reads_files_written_by_safetensors(tmp_path):
    path = str(tmp_path / "st.safetensors")
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64),
              "c": np.array([True]), "d": np.ones((), np.float64)}
    save_file(arrays, path, metadata={"format": "np"})
    out = torchlite.load(path)
    for k, v in arrays.items():
        assert out[k].dtype == torchlite.backend.from_numpy_dtype(v.dtype)
        np.testing.assert_array_equal(out[k].numpy(), v)


def test_files_written_by_torchlite_read_with_safetensors(tmp_path):
    path = str(tmp_path / "tl.safetensors")
    sd = {"w": torchlite.randn(2, 3), "n": torchlite.tensor([1, 2])}
    torchlite.save(sd, path)
    back = load_file(path)
    assert set(back) == {"w", "n"}
    np.testing.assert_array_equal(back["w"], sd["w"].numpy())
    assert back["n"].dtype == np.int64
    nested = str(tmp_path / "nested.safetensors")
    torchlite.save({"model": sd, "epoch": 1}, nested)
    assert set(load_file(nested)) == {"model/w", "model/n"}


def test_reads_bfloat16(tmp_path):
    values = np.array([1.0, -2.5, 0.15625], dtype=np.float32)
    raw = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}).encode()
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + raw)
    out = torchlite.load(path)["x"]
    # bfloat16 with ml_dtypes (the bf16 extra); float32, exactly, without it
    assert out.dtype == (torchlite.bfloat16 if _has_ml_dtypes() else torchlite.float32)
    np.testing.assert_array_equal(out.float().numpy(), values)


def _has_ml_dtypes() -> bool:
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parity
def test_parity_torch_safetensors_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    mine = str(tmp_path / "mine.safetensors")
    sd = {"weight": torchlite.randn(3, 2), "bias": torchlite.zeros(3)}
    torchlite.save(sd, mine)
    loaded = st_torch.load_file(mine)
    assert torch.equal(loaded["weight"], torch.from_numpy(sd["weight"].numpy()))
    theirs = str(tmp_path / "theirs.safetensors")
    st_torch.save_file({"w": torch.arange(4.0), "h": torch.ones(2, dtype=torch.bfloat16)}, theirs)
    out = torchlite.load(theirs)
    assert out["w"].tolist() == [0.0, 1.0, 2.0, 3.0] and out["h"].tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------------------------
# bad files


def _good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    torchlite.save({"a": torchlite.ones(4), "b": torchlite.zeros(2)}, path)
    return path


def _with_header(tmp_path, header: dict, data: bytes = b"\x00" * 16):
    raw = json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


@pytest.mark.parametrize("cut", [0, 5, 20, -1, -9])
def test_truncated_files(tmp_path, cut):
    good = _good_file(tmp_path).read_bytes()
    bad = tmp_path / "trunc.safetensors"
    bad.write_bytes(good[:cut])
    with pytest.raises(CheckpointError, match=r"trunc\.safetensors.*(truncated|short)"):
        torchlite.load(bad)


def test_corrupted_headers(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(struct.pack("<Q", 10) + b"{not json!" + b"\x00" * 8)
    with pytest.raises(CheckpointError, match="corrupted header"):
        torchlite.load(path)
    cases = [
        ([1, 2], "not a JSON object"),
        ({"x": {"dtype": "F32", "shape": [2]}}, "corrupted header entry for tensor 'x'"),
        ({"x": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, "unsupported dtype"),
        ({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "invalid shape"),
        ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, "needs 12 bytes"),
        ({"x": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, "outside the data"),
        ({"__metadata__": {"a": 1}}, "__metadata__"),
    ]
    for header, msg in cases:
        with pytest.raises(CheckpointError, match=msg):
            torchlite.load(_with_header(tmp_path, header))


def test_overlapping_offsets(tmp_path):
    header = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    with pytest.raises(CheckpointError, match="'x' and 'y' overlap"):
        torchlite.load(_with_header(tmp_path, header))


def _with_raw(tmp_path, raw: bytes, data: bytes = b"\x00" * 4):
    path = tmp_path / "raw.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


_X = b'"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'


@pytest.mark.parametrize("header, data, msg", [
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, 8,
     r"hole of 4 bytes .* before tensor 'x'"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
      "y": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, 12, "hole of 4 bytes"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, 5,
     r"1 junk bytes after the last tensor"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, 4, "end before they begin"),
    ({"x": {"dtype": "F32", "shape": [2 ** 63, 4], "data_offsets": [0, 4]}}, 4,
     r"more elements than the format can count"),
    ({"x": {"dtype": "F32", "shape": [2 ** 32, 2 ** 32, 0], "data_offsets": [0, 0]}}, 0,
     r"more elements than the format can count"),
    ({"x": {"dtype": "F32", "shape": [2 ** 62], "data_offsets": [0, 4]}}, 4,
     r"larger than the format can count"),
    ({"x": {"dtype": "I8", "shape": [2 ** 40, 2 ** 20], "data_offsets": [0, 4]}}, 4,
     r"needs 1152921504606846976 bytes but its offsets span 4"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2 ** 64]}}, 4, "invalid data offs"),
    ({"x": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, 4, "invalid shape"),
    ({"x": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, 4, "invalid shape"),
    ({"x": ["F32", [1], [0, 4], 0]}, 4, "corrupted header entry for tensor 'x'"),
    ({"x": {"dtype": {"F32": 1}, "shape": [1], "data_offsets": [0, 4]}}, 4, "invalid dtype"),
])
def test_layouts_the_format_refuses(tmp_path, header, data, msg):
    path = _with_header(tmp_path, header, b"\x00" * data)
    with pytest.raises(CheckpointError, match=f"^{path}: .*{msg}"):
        torchlite.load(path)


@pytest.mark.parametrize("raw, msg", [
    (b'{' + _X + b',' + _X + b'}', "tensor name 'x' appears twice"),
    (b'{' + _X + b',"__metadata__":{"a":"1","a":"2"}}', "metadata key 'a' appears twice"),
    (b'{' + _X + b',"__metadata__":{},"__metadata__":{}}', "metadata appears twice"),
    (b'{"x":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', "'dtype' twice"),
    (b'{' + _X + b'}\xff', "not UTF-8"),
    (b'{' + _X + b',"__metadata__":{"a":"\\ud800"}}', "surrogate"),
    (b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"e":NaN}}', "NaN is not JSON"),
    (b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"e":1e999}}', "out of range"),
    (b'{"x":{"dtype":"F32","shape":[-0],"data_offsets":[0,4]}}', "invalid shape"),
    (b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"e":' + b"[" * 126 + b"]" * 126
     + b'}}', "nested more than 127 levels"),
    (b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"e":' + b"[" * 5000 + b"]" * 5000
     + b'}}', "nested more than 127 levels"),
])
def test_headers_the_format_refuses(tmp_path, raw, msg):
    path = _with_raw(tmp_path, raw)
    with pytest.raises(CheckpointError, match=f"^{path}: .*{msg}"):
        torchlite.load(path)


@pytest.mark.parametrize("raw", [
    b'  \n{' + _X + b'}\t ',  # JSON whitespace around the object
    b'{' + _X + b',"__metadata__":null}',
    b'{"x":["F32",[1],[0,4]]}',  # serde reads a struct from an array too
    b'{"x":{"dtype":{"F32":null},"shape":[1],"data_offsets":[0,4],"e":1,"e":[[2]]}}',
    b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"e":' + b"[" * 125 + b"]" * 125
    + b'}}',
    b'{' + _X + b',"z":{"dtype":"F32","shape":[0,2305843009213693951],"data_offsets":[4,4]}}',
])
def test_headers_the_format_accepts(tmp_path, raw):
    from safetensors.numpy import load as st_load

    path = _with_raw(tmp_path, raw, np.float32(1.5).tobytes())
    out = torchlite.load(path)
    assert out["x"].tolist() == [1.5] and out["x"].tolist() == st_load(path.read_bytes())["x"]


def test_header_size_limit_is_the_formats(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", 100_000_001) + b"{}" + b" " * 16)
    with pytest.raises(CheckpointError, match="larger than the format allows"):
        torchlite.load(path)


def test_concatenated_files_are_refused(tmp_path):
    good = _good_file(tmp_path).read_bytes()
    bad = tmp_path / "twice.safetensors"
    bad.write_bytes(good + good)
    with pytest.raises(CheckpointError, match="junk bytes after the last tensor"):
        torchlite.load(bad)


def test_what_the_format_has_and_torchlite_lacks(tmp_path):
    path = _with_header(tmp_path, {"x": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}},
                        b"\x00" * 4)
    with pytest.raises(CheckpointError, match="dtype U16, which torchlite does not support"):
        torchlite.load(path)
    assert read_metadata(path) == {}
    path = _with_header(tmp_path, {"x": {"dtype": "F32", "shape": [0, 2 ** 61],
                                         "data_offsets": [0, 0]}}, b"")
    with pytest.raises(CheckpointError, match=r"shape \[0, 2305843009213693952\] too large"):
        torchlite.load(path)


def test_pickle_and_zip_files_are_refused(tmp_path):
    import pickle

    p = tmp_path / "model.pt"
    p.write_bytes(pickle.dumps({"a": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="pickle.*never unpickles.*safetensors"):
        torchlite.load(p)
    z = tmp_path / "model.pth"
    z.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(CheckpointError, match="pickle"):
        torchlite.load(z)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        torchlite.load(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="folder"):
        torchlite.load(tmp_path)


def test_corrupted_torchlite_metadata(tmp_path):
    path = tmp_path / "meta.safetensors"
    save_file({"a": np.ones(1, np.float32)}, str(path), metadata={"torchlite": "{oops"})
    with pytest.raises(CheckpointError, match="metadata"):
        torchlite.load(path)
    save_file({"a": np.ones(1, np.float32)}, str(path),
              metadata={"torchlite": json.dumps({"skeleton": {"__tensor__": "zz"}})})
    with pytest.raises(CheckpointError, match="missing tensor 'zz'"):
        torchlite.load(path)


def _crafted(tmp_path, metadata: dict, names=("w",)):
    """A file as another writer (or an attacker) makes it: no torchlite digest to check."""
    path = tmp_path / "crafted.safetensors"
    save_file({n: np.ones(1, np.float32) for n in names}, str(path), metadata=metadata)
    return path


def _nested_lists(depth: int) -> str:
    return "[" * depth + "]" * depth  # (built as text: json itself would recurse)


def _skeleton(text: str) -> dict:
    return {"torchlite": '{"version": "1", "skeleton": ' + text + "}"}


@pytest.mark.parametrize("metadata, names, what", [
    ({"torchlite": "[" * 200_000}, ("w",), "the 'torchlite' entry nests more than 100 levels"),
    ({"torchlite": "[1, 2]"}, ("w",), r"the 'torchlite' entry is a list \(\[1, 2\]\), "
                                       "expected a JSON object"),
    ({"torchlite": "{oops"}, ("w",), "the 'torchlite' entry is not JSON"),
    ({"torchlite": "1" * 5000}, ("w",), "the 'torchlite' entry is not JSON"),  # digit limit
    (_skeleton(_nested_lists(900)), ("w",), "the 'torchlite' entry nests more than 100 levels"),
    (_skeleton('{"__dict__": 5}'), ("w",), r"a '__dict__' entry is a number \(5\), expected a "
                                             "list of \\[key, value\\] pairs"),
    (_skeleton('{"__dict__": [["a"]]}'), ("w",), "a '__dict__' entry holds a list"),
    (_skeleton('{"__dict__": [[["k"], 1]]}'), ("w",), "a '__dict__' entry holds a list .* "
                                                   "with a string or integer key"),
    (_skeleton('{"__dict__": [[true, 1]]}'), ("w",), "a '__dict__' entry holds a list .* "
                                                  "with a string or integer key"),
    (_skeleton('{"__tuple__": {"a": 1}}'), ("w",), "a '__tuple__' entry is an object"),
    (_skeleton('{"__tensor__": ["w"]}'), ("w",), "a '__tensor__' reference is a list"),
    (_skeleton('{"__tensor__": 1}'), ("1",), "a '__tensor__' reference is a number"),
    (_skeleton('{"__tensor__": "zz"}'), ("w",), "it refers to a missing tensor 'zz'"),
    (_skeleton('{"x": 1}'), ("w",), "an object in the skeleton is none of __tensor__, "
                                   "__dict__ or __tuple__"),
    ({"torchlite": json.dumps({"skeleton": None, "order": [1]})}, ("1",),
     r"'order' is a list \(\[1\]\), expected a list of tensor names"),
    ({"torchlite": json.dumps({"skeleton": None, "order": "w"})}, ("w",), "'order' is a string"),
])
def test_crafted_torchlite_metadata(tmp_path, metadata, names, what):
    # Each of these once escaped as a RecursionError, TypeError or KeyError (an "internal
    # error" in the CLI); the CLI maps CheckpointError to exit 3.
    path = _crafted(tmp_path, metadata, names)
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: checkpoint metadata "
                                              f"is malformed: {what}"):
        torchlite.load(path)


@pytest.mark.parametrize("value", ["[" * 200_000, _nested_lists(900), "[1]", "{oops"])
def test_crafted_digest_entry(tmp_path, value):
    path = _crafted(tmp_path, {DIGEST_KEY: value})
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))} is corrupt: its digest "
                                              f"entry '{DIGEST_KEY}' is unreadable"):
        torchlite.load(path)
    with pytest.raises(CheckpointError, match="is unreadable"):
        read_metadata(path)


def test_metadata_depth_limit_is_exact(tmp_path):
    # the "torchlite" object is one level, the skeleton the rest
    ok = _crafted(tmp_path, _skeleton(_nested_lists(MAX_METADATA_DEPTH - 1)))
    out = torchlite.load(ok)
    for _ in range(MAX_METADATA_DEPTH - 2):
        assert out == [out[0]]
        out = out[0]
    assert out == []
    bad = _crafted(tmp_path, _skeleton(_nested_lists(MAX_METADATA_DEPTH)))
    with pytest.raises(CheckpointError, match="nests more than 100 levels deep"):
        torchlite.load(bad)


def test_save_refuses_a_state_that_load_would_refuse(tmp_path):
    def nested(levels):
        state = {"w": torchlite.ones(1)}
        for _ in range(levels):
            state = {"k": state, "n": 1}
        return state

    # three JSON levels per dict, one for the entry, one for a tensor's reference
    deepest = (MAX_METADATA_DEPTH - 2) // 3 - 1
    torchlite.save(nested(deepest), tmp_path / "ok.safetensors")
    out = torchlite.load(tmp_path / "ok.safetensors")
    for _ in range(deepest):
        out = out["k"]
    assert out["w"].tolist() == [1.0]
    with pytest.raises(ValueError, match="nested too deeply"):
        torchlite.save(nested(deepest + 1), tmp_path / "deep.safetensors")
    assert not (tmp_path / "deep.safetensors").exists()


# --------------------------------------------------------------------------------------------
# digests


def _flip(path, offset: int, bit: int = 0):
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 1 << bit
    path.write_bytes(bytes(raw))


def test_a_changed_bit_in_the_data_is_a_corrupt_file(tmp_path):
    path = _good_file(tmp_path)
    _flip(path, path.stat().st_size - 3)
    with pytest.raises(CheckpointError, match=f"^{path} is corrupt: its tensor data does not"):
        torchlite.load(path)
    read_metadata(path)  # the header is intact
    assert load_file(str(path))["a"].shape == (4,)  # a well-formed file, for safetensors


def test_a_changed_value_in_the_metadata_is_a_corrupt_file(tmp_path):
    path = tmp_path / "m.safetensors"
    torchlite.save({"w": torchlite.ones(2)}, path, metadata={"epoch": 5, "note": "lr=0.1"})
    raw = path.read_bytes()
    for old, new in [(b'"5"', b'"7"'), (b"lr=0.1", b"lr=0.2")]:
        assert raw.count(old) == 1
        path.write_bytes(raw.replace(old, new))
        with pytest.raises(CheckpointError, match="is corrupt: its header does not match"):
            read_metadata(path)
        with pytest.raises(CheckpointError, match="is corrupt: its header does not match"):
            torchlite.load(path)


def test_a_renamed_tensor_is_a_corrupt_file(tmp_path):
    path = tmp_path / "n.safetensors"
    torchlite.save({"w0": torchlite.ones(2)}, path)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'"w0":{', b'"w1":{'))
    with pytest.raises(CheckpointError, match="is corrupt: its header does not match"):
        torchlite.load(path)


def test_a_lost_digest_entry_is_a_corrupt_file(tmp_path):
    path = _good_file(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(DIGEST_KEY.encode(), b"torchlite_digesu"))
    with pytest.raises(CheckpointError, match=f"is corrupt: its digest entry '{DIGEST_KEY}' is "
                                              "missing"):
        torchlite.load(path)


def test_files_without_a_digest_still_load(tmp_path):
    # what torchlite wrote before the digest existed: no digest, no "digest" in its entry
    path = str(tmp_path / "old.safetensors")
    save_file({"a": np.ones(2, np.float32)}, path, metadata={
        "format": "pt", "torchlite": json.dumps({"version": "1", "skeleton": None})})
    assert torchlite.load(path)["a"].tolist() == [1.0, 1.0]


def test_the_digest_keys_are_reserved(tmp_path):
    for key in (DIGEST_KEY, "torchlite"):
        with pytest.raises(ValueError, match=f"metadata key '{key}' is reserved"):
            torchlite.save({"a": torchlite.ones(1)}, tmp_path / "r.safetensors",
                           metadata={key: "x"})
    assert not os.listdir(tmp_path)


def test_the_cli_maps_a_corrupt_file_to_exit_3():
    assert issubclass(CheckpointError, ValueError)
    assert CheckpointError.exit_code == 3


# --------------------------------------------------------------------------------------------
# atomic writes


def test_temp_file_names(tmp_path):
    target = tmp_path / "w.safetensors"
    assert temp_path(target, "0123abcd") == tmp_path / ".w.safetensors.0123abcd.tmp"
    for name in (".w.safetensors.0123abcd.tmp", ".w.safetensors.x.tmp",
                 ".v.safetensors.0123abcd.tmp", "w.safetensors"):
        (tmp_path / name).write_bytes(b"")
    assert stale_temp_files(target) == [tmp_path / ".w.safetensors.0123abcd.tmp"]
    assert stale_temp_files(tmp_path / "nowhere" / "w.safetensors") == []


def test_atomic_write_keeps_old_file_when_replace_fails(tmp_path, monkeypatch):
    path = _good_file(tmp_path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        torchlite.save({"a": torchlite.full((4,), 9.0)}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["good.safetensors"]


def test_atomic_write_keeps_old_file_when_write_fails(tmp_path, monkeypatch):
    path = _good_file(tmp_path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("no space left")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="no space"):
        torchlite.save({"a": torchlite.zeros(4)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["good.safetensors"]


def test_save_creates_folder_and_overwrites(tmp_path):
    path = tmp_path / "sub" / "dir" / "w.safetensors"
    torchlite.save({"a": torchlite.ones(1)}, str(path))
    torchlite.save({"a": torchlite.zeros(1)}, path)
    assert torchlite.load(path)["a"].item() == 0.0
    assert os.listdir(path.parent) == ["w.safetensors"]


@pytest.mark.parametrize("length", [128, 0x4B50])  # first byte 0x80; first bytes "PK"
def test_header_length_that_looks_like_a_signature_still_loads(tmp_path, length):
    raw = json.dumps({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    raw = raw + b" " * (length - len(raw))  # safetensors pads headers with spaces
    path = tmp_path / "sig.safetensors"
    path.write_bytes(struct.pack("<Q", length) + raw + np.float32(2.5).tobytes())
    assert path.read_bytes()[:1] in (b"\x80", b"P")
    assert torchlite.load(path)["x"].tolist() == [2.5]


def test_a_state_dict_loads_in_the_order_it_was_saved(tmp_path):
    # safetensors orders its header by dtype, then name; torch.load gives back the saved order
    m = torchlite.nn.Sequential(torchlite.nn.Linear(2, 2), torchlite.nn.BatchNorm1d(2),
                                torchlite.nn.Linear(2, 1))
    sd = m.state_dict()
    torchlite.save(sd, tmp_path / "m.safetensors")
    loaded = torchlite.load(tmp_path / "m.safetensors")
    assert list(loaded) == list(sd)
    assert list(loaded)[:2] == ["0.weight", "0.bias"]  # int64 num_batches_tracked is not first
    for k in sd:
        np.testing.assert_array_equal(loaded[k].numpy(), sd[k].numpy())
