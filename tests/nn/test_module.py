import copy
from collections import OrderedDict

import numpy as np
import pytest
from _nn_checks import npy, rnd, t32

import torchlite
import torchlite.nn as nn
from torchlite.nn.hooks import register_module_forward_hook, register_module_forward_pre_hook


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = nn.Parameter(torchlite.ones(2))
        self.register_buffer("count", torchlite.zeros(1))
        self.register_buffer("cache", torchlite.zeros(2), persistent=False)
        self.register_parameter("unused", None)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block()
        self.b = Block()
        self.b.fc = self.a.fc  # shared submodule
        self.head = nn.Linear(2, 1)

    def forward(self, x):
        return self.head(self.a(x) + self.b(x))


# -- registration --------------------------------------------------------------------------------

def test_assignment_registers_and_getattr_finds():
    b = Block()
    assert list(b._parameters) == ["scale", "unused"] and list(b._modules) == ["fc"]
    assert list(b._buffers) == ["count", "cache"]
    assert b.unused is None and b.count is b._buffers["count"]
    b.note = torchlite.zeros(1)  # a plain tensor attribute is not a buffer
    assert "note" not in b._buffers
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nope'"):
        _ = b.nope
    assert {"fc", "scale", "count"} <= set(dir(b))


def test_assignment_before_super_init_is_a_clear_error():
    class Early(nn.Module):
        def __init__(self, what):
            if what == "param":
                self.w = nn.Parameter(torchlite.zeros(1))
            elif what == "module":
                self.m = nn.ReLU()
            else:
                self.register_buffer("b", torchlite.zeros(1))
            super().__init__()

    for what, msg in (("param", "parameters"), ("module", "module"), ("buffer", "buffer")):
        with pytest.raises(AttributeError, match=f"cannot assign {msg} before Module.__init__"):
            Early(what)

    class Forgot(nn.Module):
        def __init__(self):
            pass

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\)"):
        Forgot()(1)


def test_registration_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="torchlite.nn.Parameter or None required"):
        m.register_parameter("w", torchlite.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="empty string"):
        m.register_buffer("", None)
    with pytest.raises(TypeError, match="string"):
        m.add_module(3, nn.ReLU())
    m.x = 1
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("x", torchlite.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("y", 5)
    with pytest.raises(TypeError, match="buffer"):
        m.register_buffer("z", np.zeros(2))
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign .* as parameter 'weight'"):
        lin.weight = torchlite.zeros(2, 2)
    lin.bias = None
    assert lin.bias is None and "bias" in lin._parameters
    with pytest.raises(ValueError, match="non-leaf"):
        lin.register_parameter("w2", _nonleaf_param())


def _nonleaf_param():
    p = nn.Parameter(torchlite.zeros(1))
    p.grad_fn = (torchlite.ones(1, requires_grad=True) * 2).grad_fn
    return p


def test_reassignment_changes_kind_and_delattr():
    m = nn.Module()
    m.x = nn.Parameter(torchlite.zeros(1))
    m.x = None
    assert m._parameters["x"] is None
    m.register_buffer("buf", torchlite.zeros(1))
    m.buf = torchlite.ones(2)
    assert tuple(m._buffers["buf"].shape) == (2,)
    with pytest.raises(TypeError):
        m.buf = 3
    m.sub = nn.ReLU()
    del m.sub
    assert "sub" not in m._modules
    m.buffered = nn.Buffer(torchlite.zeros(3), persistent=False)
    assert "buffered" in m._buffers and "buffered" in m._non_persistent_buffers_set
    assert type(m.buffered) is torchlite.Tensor


# -- traversal -----------------------------------------------------------------------------------

def test_named_parameters_shared_once_prefix_and_recurse():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["a.scale", "a.fc.weight", "a.fc.bias", "b.scale", "head.weight",
                     "head.bias"]
    assert len(list(net.parameters())) == 6
    all_names = [n for n, _ in net.named_parameters(remove_duplicate=False)]
    assert "b.fc.weight" in all_names and len(all_names) == 8
    assert [n for n, _ in net.a.named_parameters(prefix="x", recurse=False)] == ["x.scale"]
    assert [n for n, _ in net.named_buffers()] == ["a.count", "a.cache", "b.count", "b.cache"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "a.fc", "b", "head"]
    assert [n for n, _ in net.named_children()] == ["a", "b", "head"]
    assert len(list(net.modules())) == 5 and len(list(net.children())) == 3


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("a.fc") is net.a.fc and net.get_submodule("") is net
    assert net.get_parameter("a.fc.weight") is net.a.fc.weight
    assert net.get_buffer("b.count") is net.b.count
    with pytest.raises(AttributeError, match="Block has no attribute `zz`"):
        net.get_submodule("a.zz")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        net.get_parameter("a.count")
    with pytest.raises(AttributeError, match="is not a buffer"):
        net.get_buffer("a.scale")
    net.set_submodule("a.fc", nn.Linear(3, 2, bias=False))
    assert net.a.fc.bias is None


# -- modes, grads, conversion --------------------------------------------------------------------

def test_train_eval_propagate():
    net = Net()
    assert net.training and net.a.fc.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_zero_grad_and_requires_grad():
    net = Net()
    net(t32(rnd((4, 3)))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not npy(p.grad).any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_dtype_conversion_keeps_parameter_identity():
    net = Net()
    w = net.a.fc.weight
    net(t32(rnd((2, 3)))).sum().backward()
    assert net.double() is net
    assert net.a.fc.weight is w and w.dtype == torchlite.float64
    assert w.grad.dtype == torchlite.float64
    assert net.a.count.dtype == torchlite.float64
    bn = nn.BatchNorm1d(2).half()
    assert bn.weight.dtype == torchlite.float16
    assert bn.num_batches_tracked.dtype == torchlite.int64  # integer buffers keep their dtype
    net.to(torchlite.float32)
    assert w.dtype == torchlite.float32
    net.to("cpu", dtype=torchlite.float64).float().cpu()
    assert w.dtype == torchlite.float32
    net.to(t32([1.0]))
    with pytest.raises(TypeError, match="floating point"):
        net.to(torchlite.int64)
    if not torchlite.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            net.cuda()


def test_apply_visits_children_first():
    order = []
    Net().apply(lambda m: order.append(type(m).__name__))
    assert order == ["Linear", "Block", "Linear", "Block", "Linear", "Net"]  # as PyTorch


# -- state dict ----------------------------------------------------------------------------------

def test_state_dict_keys_order_and_sharing():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    # parameters, then persistent buffers, then children; shared tensors under every name
    assert list(sd) == ["a.scale", "a.count", "a.fc.weight", "a.fc.bias", "b.scale", "b.count",
                        "b.fc.weight", "b.fc.bias", "head.weight", "head.bias"]
    assert not sd["a.scale"].requires_grad and sd["a.scale"]._data is net.a.scale._data
    kv = net.state_dict(keep_vars=True)
    assert kv["a.scale"] is net.a.scale
    assert list(net.a.state_dict(prefix="p.")) == ["p.scale", "p.count", "p.fc.weight",
                                                  "p.fc.bias"]


def test_load_state_dict_round_trip_in_place_and_casts():
    src, dst = Net(), Net()
    arr = dst.head.weight._data
    result = dst.load_state_dict(src.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst.head.weight._data is arr  # copied into the existing storage
    x = t32(rnd((3, 3)))
    np.testing.assert_array_equal(npy(dst(x)), npy(src(x)))
    sd64 = {k: v.double() for k, v in src.state_dict().items()}
    dst.load_state_dict(sd64)
    assert dst.head.weight.dtype == torchlite.float32
    dst.load_state_dict({k: npy(v) for k, v in src.state_dict().items()})  # NumPy arrays too


def test_load_state_dict_reports_every_problem_at_once():
    lin = nn.Linear(2, 3)
    bad = {"weight": torchlite.zeros(2, 2), "foo": torchlite.zeros(1)}
    with pytest.raises(RuntimeError) as err:
        lin.load_state_dict(bad)
    assert str(err.value) == (
        "Error(s) in loading state_dict for Linear:\n"
        '\tMissing key(s) in state_dict: "bias". \n'
        '\tUnexpected key(s) in state_dict: "foo". \n'
        "\tsize mismatch for weight: copying a param with shape torch.Size([2, 2]) from "
        "checkpoint, the shape in current model is torch.Size([3, 2])."
    )
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        lin.load_state_dict(bad, strict=False)
    res = lin.load_state_dict({"weight": torchlite.ones(3, 2), "x.y": torchlite.zeros(1)},
                              strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["x.y"]
    assert (npy(lin.weight) == 1).all()
    net = Net()
    with pytest.raises(RuntimeError, match='"zz", "a.fc.nope"'):
        net.load_state_dict({**net.state_dict(), "a.fc.nope": torchlite.zeros(1),
                             "zz": torchlite.zeros(1)})
    with pytest.raises(TypeError, match="dict-like"):
        lin.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match="expected torchlite.Tensor"):
        lin.load_state_dict({"weight": [[0.0] * 2] * 3, "bias": torchlite.zeros(3)})


def test_load_state_dict_assign():
    lin = nn.Linear(2, 3)
    w = torchlite.ones(3, 2)
    lin.load_state_dict({"weight": w, "bias": torchlite.zeros(3)}, assign=True)
    assert isinstance(lin.weight, nn.Parameter) and lin.weight._data is w._data
    assert lin.weight.requires_grad


def test_save_load_round_trip(tmp_path):
    net = Net()
    net.a.count.fill_(3.0)
    path = tmp_path / "w.safetensors"
    torchlite.save(net.state_dict(), path)
    other = Net()
    other.load_state_dict(torchlite.load(path))
    for (k, v), (k2, v2) in zip(net.state_dict().items(), other.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(npy(v), npy(v2))


# -- calling and hooks ---------------------------------------------------------------------------

def test_forward_hooks_modify_inputs_and_outputs():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(npy(args[0]).sum()) or
                                   out + 1)
    out = lin(t32([[1.0, 2.0]]))
    np.testing.assert_allclose(npy(out), npy(lin.bias)[None] + 1, rtol=1e-6)
    assert calls == [0.0]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(npy(lin(t32([[0.0, 0.0]]))), npy(lin.bias)[None])
    assert not lin._forward_hooks and not lin._forward_pre_hooks


def test_hooks_with_kwargs_prepend_and_context_manager():
    class Echo(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Echo()
    order = []
    m.register_forward_hook(lambda *a: order.append("second"))
    m.register_forward_hook(lambda *a: order.append("first"), prepend=True)

    def pre(mod, args, kwargs):
        return args, {**kwargs, "scale": 10.0}

    with m.register_forward_pre_hook(pre, with_kwargs=True):
        assert float(m(t32(2.0))) == 20.0
    assert float(m(t32(2.0), scale=3.0)) == 6.0
    assert order == ["first", "second", "first", "second"]
    seen = []
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs), with_kwargs=True)
    m(t32(1.0), scale=2.0)
    assert seen == [{"scale": 2.0}]


def test_always_call_hook_runs_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m, seen = Boom(), []
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("never"))
    with pytest.raises(ValueError, match="boom"):
        m(1)
    assert seen == [None]


def test_global_hooks():
    names = []
    h1 = register_module_forward_pre_hook(lambda m, a: names.append("pre:" + type(m).__name__))
    h2 = register_module_forward_hook(lambda m, a, o: names.append(type(m).__name__))
    try:
        nn.Sequential(nn.Linear(2, 2), nn.ReLU())(t32([[1.0, 2.0]]))
    finally:
        h1.remove()
        h2.remove()
    assert names == ["pre:Sequential", "pre:Linear", "Linear", "pre:ReLU", "ReLU", "Sequential"]
    nn.ReLU()(t32([1.0]))
    assert len(names) == 6


def test_call_without_hooks_goes_straight_to_forward():
    class Count(nn.Module):
        calls = 0

        def forward(self, x):
            Count.calls += 1
            return x

    m = Count()
    assert m(5) == 5 and Count.calls == 1
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)
    with pytest.raises(NotImplementedError):
        m.register_full_backward_hook(lambda *a: None)


# -- printing and copying ------------------------------------------------------------------------

def test_nested_repr_with_multiline_extra_repr():
    class Multi(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(1, 1))

        def extra_repr(self):
            return "alpha=1\nbeta=2"

    assert repr(Multi()) == (
        "Multi(\n  alpha=1\n  beta=2\n  (inner): Sequential(\n"
        "    (0): Linear(in_features=1, out_features=1, bias=True)\n  )\n)"
    )
    assert repr(nn.Module()) == "Module()"


def test_deepcopy_is_independent():
    net = Net()
    twin = copy.deepcopy(net)
    assert twin.a.fc is twin.b.fc  # sharing is preserved
    assert twin.a.fc.weight is not net.a.fc.weight
    twin.head.weight.data.fill_(0.0)
    assert npy(net.head.weight).any()
    x = t32(rnd((2, 3)))
    twin(x).sum().backward()
    assert net.head.weight.grad is None


@pytest.mark.parity
def test_state_dict_moves_between_frameworks():
    torch = pytest.importorskip("torch")

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)
            self.scale = torch.nn.Parameter(torch.ones(2))
            self.register_buffer("count", torch.zeros(1))
            self.register_buffer("cache", torch.zeros(2), persistent=False)
            self.register_parameter("unused", None)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = TorchBlock(), TorchBlock()
            self.b.fc = self.a.fc
            self.head = torch.nn.Linear(2, 1)

    ours, theirs = Net(), TorchNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(npy(v).copy()) for k, v in
                            ours.state_dict().items()})
    back = Net()
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = t32(rnd((2, 3)))
    np.testing.assert_array_equal(npy(back(x)), npy(ours(x)))
