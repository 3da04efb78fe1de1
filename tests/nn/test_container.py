from collections import OrderedDict

import numpy as np
import pytest
from _nn_checks import layout, npy, rnd, t32

import torchlite
import torchlite.nn as nn


def test_sequential_forward_indexing_and_slicing():
    a, b, c = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)
    s = nn.Sequential(a, b, c)
    x = t32(rnd((5, 3)))
    np.testing.assert_allclose(npy(s(x)), npy(c(b(a(x)))))
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    head = s[:2]
    assert type(head) is nn.Sequential and list(head) == [a, b]
    assert list(head.state_dict()) == ["0.weight", "0.bias"]
    with pytest.raises(IndexError):
        s[3]
    s[1] = nn.Tanh()
    assert isinstance(s[1], nn.Tanh)


def test_sequential_mutation_renumbers():
    s = nn.Sequential(nn.ReLU(), nn.Linear(2, 2), nn.Tanh())
    del s[0]
    assert list(s._modules) == ["0", "1"] and isinstance(s[0], nn.Linear)
    s.append(nn.Sigmoid())
    s.insert(0, nn.Identity())
    assert [type(m).__name__ for m in s] == ["Identity", "Linear", "Tanh", "Sigmoid"]
    assert list(s._modules) == ["0", "1", "2", "3"]
    popped = s.pop(0)
    assert isinstance(popped, nn.Identity) and len(s) == 3
    s.extend([nn.ReLU()])
    t = s + nn.Sequential(nn.ReLU())
    assert len(t) == 5 and len(s) == 4


def test_sequential_ordered_dict_names_and_layout():
    s = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 2)), ("act", nn.ReLU()),
                                   ("bn", nn.BatchNorm1d(2))]))
    assert s.fc is s[0]
    assert layout(s) == {"fc.weight": (2, 3), "fc.bias": (2,), "bn.weight": (2,),
                         "bn.bias": (2,), "bn.running_mean": (2,), "bn.running_var": (2,),
                         "bn.num_batches_tracked": ()}
    assert repr(s) == (
        "Sequential(\n  (fc): Linear(in_features=3, out_features=2, bias=True)\n  (act): ReLU()\n"
        "  (bn): BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)\n)"
    )


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.ReLU())
    assert len(layers) == 4 and isinstance(layers[-1], nn.ReLU)
    assert type(layers[1:3]) is nn.ModuleList and len(layers[1:3]) == 2
    assert len(list(layers.parameters())) == 6
    assert list(layout(layers)) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight",
                                    "2.bias"]
    assert repr(layers) == ("ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, "
                            "bias=True)\n  (3): ReLU()\n)")
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2"]
    layers.insert(1, nn.Tanh())
    assert isinstance(layers[1], nn.Tanh) and len(layers) == 4
    layers += [nn.Sigmoid()]
    assert len(layers) == 5 and isinstance(layers.pop(), nn.Sigmoid)
    with pytest.raises(NotImplementedError):
        layers(t32([1.0]))


def test_module_dict():
    d = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ReLU()})
    d["c"] = nn.Tanh()
    assert list(d) == ["a", "b", "c"] and "b" in d and len(d) == 3
    assert list(layout(d)) == ["a.weight", "a.bias"]
    assert isinstance(d.pop("c"), nn.Tanh)
    d.update([("z", nn.Identity())])
    assert list(d.keys()) == ["a", "b", "z"]
    assert [type(v).__name__ for v in d.values()] == ["Linear", "ReLU", "Identity"]
    d.clear()
    assert len(d) == 0


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(torchlite.zeros(2, 3)), torchlite.ones(2)])
    assert all(isinstance(p, nn.Parameter) for p in pl)  # plain tensors are wrapped
    assert pl[1].requires_grad and len(pl) == 2
    assert layout(pl) == {"0": (2, 3), "1": (2,)}
    pl.append(torchlite.zeros(1))
    assert list(dict(pl.named_parameters())) == ["0", "1", "2"]
    assert "(0): Parameter containing: [torch.float32 of size 2x3]" in repr(pl)
    pd = nn.ParameterDict({"w": torchlite.zeros(2)})
    pd["b"] = nn.Parameter(torchlite.ones(1))
    assert list(pd) == ["w", "b"] and isinstance(pd["w"], nn.Parameter)
    assert layout(pd) == {"w": (2,), "b": (1,)}
    del pd["w"]
    assert list(pd.keys()) == ["b"] and layout(pd) == {"b": (1,)}
    with pytest.raises(RuntimeError):
        pl(1)


@pytest.mark.parity
def test_container_layouts_match_pytorch():
    torch = pytest.importorskip("torch")

    def mk(nn_):
        return nn_.Sequential(nn_.Linear(3, 4), nn_.ModuleList([nn_.BatchNorm1d(4), nn_.ReLU()]),
                              nn_.ModuleDict({"emb": nn_.Embedding(5, 2)}),
                              nn_.ParameterList([nn_.Parameter(torch.zeros(2) if nn_ is torch.nn
                                                               else torchlite.zeros(2))]))

    ours, theirs = mk(nn), mk(torch.nn)
    assert layout(ours) == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
