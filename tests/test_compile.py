"""torchlite.compile and Module.compile: accepted with PyTorch's signature, run eagerly."""

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn


def test_compile_returns_the_module_unchanged():
    torchlite.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    x = torchlite.randn(2, 3)
    ref = model(x).detach().numpy()
    compiled = torchlite.compile(model, mode="max-autotune", fullgraph=True, dynamic=False)
    assert compiled is model
    np.testing.assert_array_equal(compiled(x).detach().numpy(), ref)
    assert list(compiled.state_dict()) == ["0.weight", "0.bias"]  # (no `_orig_mod.` prefix)


def test_compile_as_decorator_with_and_without_arguments():
    @torchlite.compile
    def f(x):
        return x * 2

    @torchlite.compile(backend="inductor", mode="reduce-overhead")
    def g(x):
        return x + 1

    @torchlite.compile()
    def h(x):
        return x - 1

    x = torchlite.ones(2)
    assert f(x).tolist() == [2.0, 2.0] and g(x).tolist() == [2.0, 2.0]
    assert h(x).tolist() == [0.0, 0.0]
    assert f.__name__ == "f" and g.__name__ == "g"


def test_compile_checks_its_arguments():
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast"):
        torchlite.compile(lambda x: x, mode="fast")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        torchlite.compile(lambda x: x, mode="default", options={})
    with pytest.raises(TypeError, match="A callable function is expected"):
        torchlite.compile(5)
    with pytest.raises(TypeError, match="A callable function is expected"):
        torchlite.compile(mode="default")(5)


def test_module_compile_is_in_place_and_a_no_op():
    model = nn.Linear(2, 2)
    assert model.compile(mode="default") is None
    assert isinstance(model, nn.Linear)
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        model.compile(mode="fast")


@pytest.mark.parity
def test_compile_signature_parity():
    torch = pytest.importorskip("torch")
    import inspect

    ours = inspect.signature(torchlite.compile).parameters
    theirs = inspect.signature(torch.compile).parameters
    for name in ("model", "fullgraph", "dynamic", "backend", "mode", "options", "disable"):
        assert name in ours and ours[name].kind == theirs[name].kind, name
        assert ours[name].default == theirs[name].default, name
    with pytest.raises(RuntimeError) as t:
        torch.compile(lambda x: x, mode="fast")
    with pytest.raises(RuntimeError) as o:
        torchlite.compile(lambda x: x, mode="fast")
    assert str(o.value) == str(t.value)
