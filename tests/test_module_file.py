"""torchlite.save(model, f) / torchlite.load(f, weights_only=False): a whole module without
pickle; weights_only=True refuses as PyTorch does; crafted files give clear errors and never make
torchlite import or call what they name."""

import io
import json
import pickle
import sys

import numpy as np
import pytest
from safetensors.numpy import save as st_save

import torchlite
import torchlite.nn.functional as F
from torchlite import nn
from torchlite.errors import CheckpointError


class TiedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.enc = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.emb.weight  # tied, as language models do
        self.sizes = (2, 3)
        self.dtype, self.where = torchlite.float64, torchlite.device("cpu")
        self.act = F.gelu
        self.register_buffer("count", torchlite.zeros(()), persistent=False)

    def forward(self, x):
        return self.head(self.act(self.enc(self.emb(x))))


def _saved(obj) -> io.BytesIO:
    buf = io.BytesIO()
    torchlite.save(obj, buf)
    buf.seek(0)
    return buf


def test_whole_module_round_trip_keeps_tree_attributes_and_ties():
    torchlite.manual_seed(0)
    model = TiedNet().eval()
    x = torchlite.tensor([[1, 2, 3]])
    back = torchlite.load(_saved(model), weights_only=False)
    assert type(back) is TiedNet and not back.training and not back.enc.training
    assert back.sizes == (2, 3) and back.act is F.gelu
    assert back.dtype is torchlite.float64 and back.where == torchlite.device("cpu")
    assert back.head.weight is back.emb.weight and isinstance(back.head.weight, nn.Parameter)
    assert "count" in dict(back.named_buffers()) and "count" not in back.state_dict()
    assert list(back.state_dict()) == list(model.state_dict())
    assert torchlite.equal(back(x), model(x))
    back.train()
    back(x).sum().backward()  # parameters take gradients again
    assert back.emb.weight.grad is not None


def test_module_inside_a_checkpoint_dict():
    lin = nn.Linear(3, 2)
    out = torchlite.load(_saved({"model": lin, "epoch": 3}), weights_only=False)
    assert out["epoch"] == 3 and isinstance(out["model"], nn.Linear)
    assert torchlite.equal(out["model"].weight, lin.weight)


def test_weights_only_refuses_with_pytorchs_message_unless_allowed():
    buf = _saved(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    with pytest.raises(pickle.UnpicklingError, match=r"(?s)Weights only load failed.*Unsupported "
                       r"global: GLOBAL torchlite\.nn\.modules\.container\.Sequential"):
        torchlite.load(buf)
    classes = [nn.Sequential, nn.Linear, nn.ReLU]
    with torchlite.serialization.safe_globals(classes):
        assert isinstance(torchlite.load(io.BytesIO(buf.getvalue())), nn.Sequential)


def test_a_class_defined_in_a_function_is_refused_at_save():
    class Local(nn.Module):
        pass

    with pytest.raises(TypeError, match="defined inside a function"):
        torchlite.save(Local(), io.BytesIO())


def _crafted(node) -> io.BytesIO:
    """A file whose skeleton is `node`, holding one tensor 'w'."""
    info = {"version": "1", "skeleton": node}
    blob = st_save({"w": np.ones((2, 2), np.float32)},
                   metadata={"format": "pt", "torchlite": json.dumps(info)})
    return io.BytesIO(blob)


def _module_node(cls="torchlite.nn.modules.linear:Linear", attrs=(), params=None, mods=()):
    params = [["weight", {"__tensor__": "w"}, True]] if params is None else params
    return {"__module__": {"class": cls, "training": True, "attrs": list(attrs),
                           "parameters": params, "buffers": [], "modules": list(mods)}}


@pytest.mark.parametrize("node, match", [
    (_module_node(cls="never_imported_model_pkg:Net"), "not defined by any imported module"),
    (_module_node(cls="os:system"), "not an nn.Module subclass"),
    (_module_node(cls="torchlite.nn.modules.linear"), "expected 'module:QualifiedName'"),
    (_module_node(attrs=[["act", {"__function__": "os:system"}]]), "is not a function of"),
    (_module_node(attrs=[["forward", 1]]), "would replace the class's own"),
    (_module_node(attrs=[["__class__", 1]]), "would replace the class's own"),
    (_module_node(params=[["weight", {"__shared_parameter__": "nope"}, True]]),
     "not a parameter stored before it"),
    (_module_node(params=[["weight", 3, True]]), "is not a tensor"),
    (_module_node(mods=[["child", 5]]), "is not a module"),
    (_module_node(attrs=[["kind", {"__dtype__": "os"}]]), "is not a torchlite dtype"),
    (_module_node(attrs=[["at", {"__device__": "tpu:x"}]]), "is not a torchlite device"),
    ({"__module__": {"class": "torchlite.nn.modules.linear:Linear", "attrs": 1}}, "malformed"),
    ({"__module__": 7}, "expected an object"),
])
def test_crafted_module_files_give_clear_errors(node, match):
    with pytest.raises(CheckpointError, match=match):
        torchlite.load(_crafted(node), weights_only=False)


def test_loading_never_imports_the_module_a_file_names():
    name = "torchlite_canary_module_never_imported"
    with pytest.raises(CheckpointError, match="not defined by any imported module"):
        torchlite.load(_crafted(_module_node(cls=f"{name}:Net")), weights_only=False)
    assert name not in sys.modules


@pytest.mark.parity
def test_the_same_program_saves_and_loads_a_whole_model_as_torch_does(tmp_path):
    torch = pytest.importorskip("torch", reason="parity tests need torch (the dev extra)")
    for m in (torch, torchlite):
        m.manual_seed(0)
        model = m.nn.Sequential(m.nn.Linear(4, 3), m.nn.Tanh(), m.nn.Linear(3, 1))
        path = tmp_path / f"{m.__name__}.pt"
        m.save(model, path)
        back = m.load(path, weights_only=False)
        x = m.ones(2, 4)
        assert m.equal(back(x), model(x)) and type(back) is type(model)
