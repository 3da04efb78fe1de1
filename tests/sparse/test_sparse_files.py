"""torchlite.save / load of sparse tensors: COO (hybrid, coalesced or not) and CSR round trips,
inside nested state, and crafted files refused by the strict checks."""

import json

import numpy as np
import pytest

import torchlite
from torchlite.errors import CheckpointError


def _same(a, b):
    assert type(a) is type(b) and a.layout is b.layout and a.shape == b.shape
    assert a.dtype is b.dtype
    np.testing.assert_array_equal(a.to_dense().numpy(), b.to_dense().numpy())


def test_round_trips(tmp_path):
    coo = torchlite.sparse_coo_tensor([[1, 0, 1], [0, 2, 0]], [1.0, 2.0, 3.0], (2, 3))
    hybrid = torchlite.sparse_coo_tensor([[0, 4]], [[1, 2], [3, 4]], (5, 2))
    csr = coo.to_sparse_csr().double()
    state = {"coo": coo, "coalesced": coo.coalesce(), "hybrid": hybrid, "nested": [csr],
             "dense": torchlite.ones(2)}
    torchlite.save(state, tmp_path / "s.safetensors")
    back = torchlite.load(tmp_path / "s.safetensors")
    _same(back["coo"], coo)
    assert not back["coo"].is_coalesced() and back["coalesced"].is_coalesced()
    assert back["coo"]._indices().tolist() == [[1, 0, 1], [0, 2, 0]]
    _same(back["hybrid"], hybrid)
    _same(back["nested"][0], csr)
    assert back["dense"].tolist() == [1.0, 1.0]


def _craft(tmp_path, node):
    coo = torchlite.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,))
    path = tmp_path / "s.safetensors"
    torchlite.save({"x": coo}, path)
    # rewrite the skeleton through the public writer: same tensors, edited metadata
    from safetensors.numpy import load_file
    arrays = load_file(path)
    from torchlite.serialization import read_metadata
    info = json.loads(read_metadata(path)["torchlite"])
    info["skeleton"]["__dict__"][0][1]["__sparse__"].update(node)
    tensors = {k: torchlite.from_numpy(v) for k, v in arrays.items()}
    return path, tensors, info


@pytest.mark.parametrize("node, match", [
    ({"layout": "sparse_bsr"}, "layout"),
    ({"size": [-1]}, "size"),
    ({"size": [1]}, "size is inconsistent with indices"),
    ({"values": {"__tensor__": "nope"}}, "missing tensor"),
])
def test_crafted_sparse_entries_refused(tmp_path, node, match):
    path, tensors, info = _craft(tmp_path, node)
    from torchlite.sparse import files

    def fail(msg):
        return CheckpointError(msg)

    skeleton = info["skeleton"]["__dict__"][0][1]["__sparse__"]
    from torchlite.serialization import _decode
    with pytest.raises(CheckpointError, match=match):
        files.decode(skeleton, lambda part: _decode(part, tensors, str(path)), fail)
