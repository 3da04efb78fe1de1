import numpy as np
import pytest

import torchlite
from torchlite.datasets import DatasetError, DatasetNotFoundError, load_csv, load_npy, load_npz
from torchlite.utils.data import DataLoader


def test_load_npz_default_keys(tmp_path):
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    y = np.array([1, 0, 1, 2], dtype=np.int32)
    np.savez(tmp_path / "d.npz", x=x, y=y, classes=np.array(["cat", "dog", "eel"]))
    ds = load_npz(tmp_path / "d.npz")
    assert ds.name == "d" and ds.task == "classification"
    assert ds.classes == ["cat", "dog", "eel"]
    assert ds.targets.dtype == np.int64 and ds.targets.tolist() == [1, 0, 1, 2]
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.dtype == torchlite.float32 and yb.dtype == torchlite.int64
    np.testing.assert_array_equal(xb.numpy(), x.astype(np.float32))


def test_load_npz_custom_keys_and_options(tmp_path):
    np.savez(tmp_path / "r.npz", feats=np.ones((3, 2)), out=np.array([0.5, 1.5, 2.5]))
    ds = load_npz(tmp_path / "r.npz", inputs="feats", targets="out")
    assert ds.task == "regression" and ds.targets.shape == (3, 1)
    assert ds.targets.dtype == np.float32
    unlabelled = load_npz(tmp_path / "r.npz", inputs="feats", targets=None)
    assert unlabelled.targets is None
    named = load_npz(tmp_path / "r.npz", "feats", "out", task="regression", classes=None)
    assert named.classes is None
    with pytest.raises(DatasetError, match="no array 'x'.*feats, out"):
        load_npz(tmp_path / "r.npz")
    with pytest.raises(DatasetError, match="no array 'y'"):
        load_npz(tmp_path / "r.npz", inputs="feats")


def test_load_npz_own_split(tmp_path):
    np.savez(
        tmp_path / "s.npz",
        x_train=np.zeros((5, 2)),
        y_train=np.arange(5),
        x_test=np.ones((2, 2)),
        y_test=np.array([1, 1]),
    )
    ds = load_npz(tmp_path / "s.npz")
    assert len(ds) == 7
    assert ds.splits["train"].tolist() == [0, 1, 2, 3, 4]
    assert ds.splits["test"].tolist() == [5, 6]
    np.testing.assert_array_equal(ds.subset("test").inputs, np.ones((2, 2)))
    np.savez(
        tmp_path / "bad.npz",
        x_train=np.zeros((5, 2)),
        y_train=np.arange(5),
        x_test=np.zeros((2, 3)),
        y_test=np.arange(2),
    )
    with pytest.raises(DatasetError, match="different sample shapes"):
        load_npz(tmp_path / "bad.npz")
    np.savez(
        tmp_path / "noy.npz",
        x_train=np.zeros((5, 2)),
        y_train=np.arange(5),
        x_test=np.zeros((2, 2)),
    )
    with pytest.raises(DatasetError, match="y_test"):
        load_npz(tmp_path / "noy.npz")


def test_load_npz_rejects_unsafe_and_malformed(tmp_path):
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match="safely"):
        load_npz(tmp_path / "o.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DatasetError):
        load_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DatasetError, match="single .npy"):
        load_npz(tmp_path / "single.npy")
    with pytest.raises(DatasetNotFoundError, match="not found"):
        load_npz(tmp_path / "absent.npz")
    np.savez(tmp_path / "len.npz", x=np.zeros((3, 2)), y=np.arange(4))
    with pytest.raises(DatasetError, match="3 samples but targets have 4"):
        load_npz(tmp_path / "len.npz")


def test_load_npy_pair_memory_mapped(tmp_path):
    x = np.random.default_rng(0).standard_normal((8, 3))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(8) % 4)
    ds = load_npy(tmp_path / "x.npy", tmp_path / "y.npy", classes=list("abcd"))
    assert isinstance(ds.inputs, np.memmap)
    assert ds.num_classes == 4 and ds.name == "x"
    xb, yb = next(iter(DataLoader(ds, batch_size=8)))
    assert xb.dtype == torchlite.float32
    np.testing.assert_allclose(xb.numpy(), x.astype(np.float32))
    assert yb.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    eager = load_npy(tmp_path / "x.npy", mmap=False)
    assert not isinstance(eager.inputs, np.memmap) and eager.targets is None


def test_load_npy_errors(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 2)))
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(DatasetError, match="4 samples but targets have 3"):
        load_npy(tmp_path / "x.npy", tmp_path / "y.npy")
    np.save(tmp_path / "obj.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="pickle"):
        load_npy(tmp_path / "obj.npy")
    np.savez(tmp_path / "z.npz", x=np.zeros(2))
    with pytest.raises(DatasetError, match="load_npz"):
        load_npy(tmp_path / "z.npz")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DatasetError):
        load_npy(tmp_path / "bad.npy")


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_header_and_target_by_name(tmp_path):
    p = write_csv(tmp_path / "iris.csv", "a,b,species\n1.0,2,setosa\n3,4.5,virginica\n5,6,setosa\n")
    for kwargs in ({"target": "species"}, {}, {"target": -1}, {"target": 2, "header": True}):
        ds = load_csv(p, **kwargs)
        assert ds.task == "classification"
        assert ds.classes == ["setosa", "virginica"]
        assert ds.targets.tolist() == [0, 1, 0]
        np.testing.assert_array_equal(ds.inputs, [[1, 2], [3, 4.5], [5, 6]])
        assert ds.inputs.dtype == np.float32


def test_load_csv_no_header_delimiter_and_tasks(tmp_path):
    p = write_csv(tmp_path / "r.csv", "0.5;1;2.25\n1.5;0;3.5\n")
    ds = load_csv(p, target=0, delimiter=";")
    assert ds.task == "regression"
    assert ds.targets.dtype == np.float32 and ds.targets[:, 0].tolist() == [0.5, 1.5]
    np.testing.assert_array_equal(ds.inputs, [[1, 2.25], [0, 3.5]])
    ints = load_csv(p, target=1, delimiter=";")
    assert ints.task == "classification" and ints.targets.tolist() == [1, 0]
    forced = load_csv(p, target=1, delimiter=";", task="regression")
    assert forced.task == "regression" and forced.targets.shape == (2, 1)
    many = write_csv(tmp_path / "m.csv", "".join(f"{i},{i * 1000}\n" for i in range(150)))
    assert load_csv(many).task == "regression"  # more than 100 distinct whole numbers
    feats_only = load_csv(p, target=None, delimiter=";")
    assert feats_only.targets is None and feats_only.inputs.shape == (2, 3)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffx,y\n1,0\n2,1\n".encode())
    assert load_csv(bom, target="y").targets.tolist() == [0, 1]


@pytest.mark.parametrize(
    "text, kwargs, match",
    [
        ("a,b,c\n1,2,0\n3,4\n", {}, "line 3: expected 3 fields, found 2"),
        ("a,b,c\n1,x,0\n", {"header": True}, r"line 2, column 2 \('b'\): expected a number"),
        ("1,2,0\n", {"target": "c"}, "no data rows"),
        ("1,2,0\n3,4,1\n", {"target": "c", "header": False}, "no header"),
        ("a,b,c\n1,2,0\n", {"target": "d"}, "no column named 'd'"),
        ("1,2,0\n3,4,1\n", {"target": 3}, "out of range"),
        ("", {}, "no data rows"),
        ("a,b\n", {"header": True}, "no data rows"),
        ("1,cat\n2,dog\n", {"task": "regression"}, "line 1: regression target must be a number"),
        ("5\n6\n", {}, "no feature columns"),
        ('1,"2\n', {}, "malformed CSV"),
        # a file split on the wrong separator, and a target by name in a file without a header
        ("a;b;label\n1;2;0\n", {"target": "label"},
         "columns are a;b;label; the file seems to separate fields with ';': pass "
         "delimiter=';'"),
        ("1;2;0\n3;4;1\n", {}, "no feature columns besides the target; .* with ';'"),
        ("x\ty\n1\t2\n", {"header": True}, r"with '\\t': pass delimiter='\\t'"),
        ("1,2,0\n3,4,1\n", {"target": "label"},
         "columns are 1, 2, 0; its first row holds numbers, so the file has no header row: "
         "give the target by position"),
    ],
)
def test_load_csv_malformed(tmp_path, text, kwargs, match):
    p = write_csv(tmp_path / "bad.csv", text)
    with pytest.raises(DatasetError, match=match):
        load_csv(p, **kwargs)


def test_load_csv_not_text(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81\x82")
    with pytest.raises(DatasetError, match="UTF-8"):
        load_csv(p)
    with pytest.raises(DatasetNotFoundError):
        load_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize("load", [load_csv, load_npz, load_npy])
def test_a_folder_or_device_is_named_for_what_it_is(tmp_path, load):
    with pytest.raises(DatasetError, match=f"{tmp_path} is a folder, not a data file"):
        load(tmp_path)
    with pytest.raises(DatasetError, match="/dev/zero is a device, not a data file"):
        load("/dev/zero")
